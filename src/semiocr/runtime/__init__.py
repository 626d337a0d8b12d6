"""The torch-free runtime: charset, image handling, recognition and detection pre/post-processing, CTC decoding
and the OCR pipeline's geometry. Only numpy, OpenCV, Pillow, pyclipper and shapely; never torch (the offline
package and the OCR service run on this with ONNX Runtime)."""
