"""Weights: the one checkpoint format (``checkpoint``), the one resolver of weight names (``resolve``) and the
one place that turns resolved weights into models (``load``)."""
