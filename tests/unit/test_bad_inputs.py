"""Table-driven: bad input gets a clear error of a specific type -- or is handled, where users expect it."""

import numpy as np
import pytest
from PIL import Image

import xai_helpers as xh
from helpers import made_file as _save


# --- image files ------------------------------------------------------------------------------------
def _truncated(path):
    Image.new("RGB", (64, 64), (200, 10, 10)).save(path, quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _exif_rotated(path):
    img = Image.new("RGB", (60, 20), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    img.save(path, exif=exif)


def _rgba(path):
    img = Image.new("RGBA", (8, 8), (255, 0, 0, 0))  # fully transparent red
    img.save(path)


def _sixteen_bit(path):
    Image.fromarray(np.full((10, 12), 65535, dtype=np.uint16)).save(path)


FILE_ERRORS = [
    ("missing file", lambda t: t / "nope.jpg", FileNotFoundError, "check the path"),
    ("unknown short name", lambda t: "kitten", FileNotFoundError, "Course photos"),
    ("directory instead of a file", lambda t: t, IsADirectoryError, "directory"),
    ("truncated image", lambda t: _save(t, "cut.jpg", _truncated), ValueError, "truncated"),
    ("text file with an image extension",
     lambda t: _save(t, "fake.png", lambda p: p.write_text("hello")), ValueError, "not an image"),
]


@pytest.mark.parametrize("case, make, error, message", FILE_ERRORS, ids=[c[0] for c in FILE_ERRORS])
def test_bad_image_files_get_clear_errors(tmp_path, case, make, error, message):
    with pytest.raises(error, match=message):
        xh.load_image(make(tmp_path))


FILE_HANDLED = [
    ("grayscale", lambda p: Image.new("L", (9, 7), 77).save(p), (9, 7), (77, 77, 77)),
    ("RGBA transparency composited on white", _rgba, (8, 8), (255, 255, 255)),
    ("palette", lambda p: Image.new("RGB", (5, 5), (255, 0, 0)).convert("P").save(p), (5, 5), (255, 0, 0)),
    ("16-bit grayscale", _sixteen_bit, (12, 10), (255, 255, 255)),
    ("CMYK", lambda p: Image.new("CMYK", (6, 6), (0, 0, 0, 0)).save(p), (6, 6), (255, 255, 255)),
    ("EXIF-rotated", _exif_rotated, (20, 60), (0, 0, 255)),
    ("1x1 pixel", lambda p: Image.new("RGB", (1, 1), (1, 2, 3)).save(p), (1, 1), (1, 2, 3)),
]


@pytest.mark.parametrize("case, make, size, corner", FILE_HANDLED, ids=[c[0] for c in FILE_HANDLED])
def test_unusual_images_are_converted_to_rgb(tmp_path, case, make, size, corner):
    path = tmp_path / ("img.tif" if "CMYK" in case else "img.png" if "16" in case or "RGBA" in case
                       else "img.jpg" if "EXIF" in case else "img.png")
    make(path)
    img = xh.load_image(path)
    assert img.mode == "RGB" and img.size == size
    assert np.allclose(img.getpixel((0, 0)), corner, atol=3)


# --- counts: steps, samples, draws, images per pass ---------------------------------------------------
@pytest.mark.parametrize("value, minimum, message", [
    (0, 1, "batch_size must be a positive integer, got 0"),
    (True, 1, "batch_size must be a positive integer, got True"),
    (2.0, 1, "batch_size must be a positive integer, got 2.0"),
    ("4", 1, "batch_size must be a positive integer, got '4'"),
    (1, 2, "batch_size must be an integer >= 2, got 1"),
])
def test_a_count_that_is_not_a_whole_number_in_range_is_refused_by_name(value, minimum, message):
    from xai_helpers._validate import check_count
    with pytest.raises(ValueError, match=message):
        check_count(value, "batch_size", minimum=minimum)


def test_a_numpy_integer_count_is_accepted_as_an_int():
    from xai_helpers._validate import check_count
    assert check_count(np.int64(3), "n_steps", minimum=2) == 3 and type(check_count(np.int64(3), "n_steps")) is int
