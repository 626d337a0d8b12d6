import cv2
import numpy as np
import pytest
from data_helpers import png_bomb_bytes
from PIL import Image

from semiocr.core.data.images import ImageError, decode_image_bytes, image_size, read_image, read_image_info


def test_formats_become_bgr_uint8(tmp_path):
    gray = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (6, 1))
    cv2.imwrite(str(tmp_path / "g.png"), gray)
    deep = (gray.astype(np.uint16) * 257)
    cv2.imwrite(str(tmp_path / "d.png"), deep)
    bgra = np.zeros((6, 25, 4), np.uint8)
    bgra[..., 2] = 255  # red, half transparent over white
    bgra[..., 3] = 128
    cv2.imwrite(str(tmp_path / "a.png"), bgra)
    color = np.zeros((6, 25, 3), np.uint8)
    color[..., 0] = 255  # blue in BGR
    cv2.imwrite(str(tmp_path / "c.png"), color)

    g, info = read_image_info(tmp_path / "g.png")
    assert g.ndim == 2 and "grayscale" in info.notes
    d, info = read_image_info(tmp_path / "d.png")
    assert d.dtype == np.uint16 and "16-bit" in info.notes
    for name in ("g.png", "d.png", "a.png", "c.png"):
        img = read_image(tmp_path / name)
        assert img.shape == (6, 25, 3) and img.dtype == np.uint8
    np.testing.assert_array_equal(read_image(tmp_path / "d.png")[..., 0], gray)
    a = read_image(tmp_path / "a.png")
    assert a[0, 0].tolist() == [127, 127, 255]  # alpha composited on white, channels in BGR order
    assert read_image(tmp_path / "c.png")[0, 0].tolist() == [255, 0, 0]
    assert "alpha" in read_image_info(tmp_path / "a.png")[1].notes


def test_exif_orientation_applied(tmp_path):
    img = Image.new("RGB", (30, 10), (255, 255, 255))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    img.save(tmp_path / "r.jpg", exif=exif.tobytes())
    arr, info = read_image_info(tmp_path / "r.jpg")
    assert arr.shape[:2] == (30, 10) and (info.width, info.height) == (10, 30) and "exif-rotated" in info.notes
    assert read_image(tmp_path / "r.jpg").shape == (30, 10, 3)  # the models' reader turns it the same way
    assert image_size(tmp_path / "r.jpg") == (10, 30)  # header only, as displayed


def test_bad_files_raise_clear_errors(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        read_image(tmp_path / "nope.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        read_image(tmp_path / "empty.png")
    (tmp_path / "text.png").write_bytes(b"this is not an image")
    with pytest.raises(ImageError, match="not a readable image"):
        read_image(tmp_path / "text.png")
    ok, buf = cv2.imencode(".jpg", np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    (tmp_path / "trunc.jpg").write_bytes(buf.tobytes()[: len(buf) // 2])
    with pytest.raises(ImageError, match="corrupt or truncated"):
        read_image_info(tmp_path / "trunc.jpg")  # the validator's full decode; the models' reader is OpenCV's
    with pytest.raises(ImageError, match=r"train.txt:3: .*text.png: not a readable image"):
        read_image(tmp_path / "text.png", source="train.txt:3")
    with pytest.raises(ImageError, match="empty image data"):
        decode_image_bytes(b"")


def test_decompression_bomb_rejected_before_decoding(tmp_path):
    data = png_bomb_bytes()
    assert len(data) < 2_000_000
    (tmp_path / "bomb.png").write_bytes(data)
    bomb = r"over the limit of 64,000,000 pixels \(possible decompression bomb.*1600000000 pixels"
    with pytest.raises(ImageError, match=bomb):
        read_image(tmp_path / "bomb.png")
    with pytest.raises(ImageError, match="possible decompression bomb"):
        decode_image_bytes(data)
    with pytest.raises(ImageError, match=r"64x64 = 4,096 pixels, over the limit of 1,000 pixels"):
        decode_image_bytes(cv2.imencode(".png", np.zeros((64, 64), np.uint8))[1].tobytes(), max_pixels=1000)


def test_jpeg_pixels_match_opencv_imread(tmp_path):
    rng = np.random.default_rng(1)
    cv2.imwrite(str(tmp_path / "p.jpg"), rng.integers(0, 255, (40, 90, 3), dtype=np.uint8))
    np.testing.assert_array_equal(read_image(tmp_path / "p.jpg"), cv2.imread(str(tmp_path / "p.jpg")))
