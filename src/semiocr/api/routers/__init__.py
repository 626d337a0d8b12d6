"""Routers of the management API; each handler is a few lines over ``semiocr.platform``."""
