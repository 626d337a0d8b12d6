"""The torch-free runtime: charset, image handling, recognition and detection pre/post-processing, CTC decoding
and the OCR pipeline's geometry. Only numpy, OpenCV, Pillow, pyclipper (and matplotlib's font for pictures);
never torch (the offline package and the OCR service run on this with ONNX Runtime: ``pip install semiocr[runtime]``
lists that set; ``tests/runtime/test_torch_free.py`` runs it with torch absent)."""
