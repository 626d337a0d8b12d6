"""Training: configs of the ``rec`` and ``det`` jobs and their entry points (``run``), the generic loop, one task
object per kind of training (supervised recognition, detection), resume state."""
