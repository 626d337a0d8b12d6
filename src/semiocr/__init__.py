"""semiocr: self-hosted semi-supervised OCR pipeline (large model learns, small model is taught)."""

__version__ = "0.1.0"
