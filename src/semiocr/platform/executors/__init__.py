"""Executors run a claimed run's attempt somewhere: ``local`` (a subprocess of the worker) or ``ray`` (the Ray
Jobs API). They execute; queueing and ordering stay in the database."""
