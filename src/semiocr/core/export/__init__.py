"""Export: weights → checked, self-describing ONNX files (``onnx``) and offline OCR packages (``package``)."""
