"""Inference with PyTorch: the one recognition path (``Recognizer``), the DB detector (``TextDetector``) and OCR
pipelines built from weight names. Used by evaluation, pseudo-labelling and the CLI; never imports training."""
