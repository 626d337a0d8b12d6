"""Inference: the one recognition path (``Recognizer``) used by evaluation, pseudo-labelling and the service."""
