"""xai_helpers core: device, models, photos, predictions."""
import pytest
import torch
from PIL import Image

import xai_helpers as xh


# --- device ---------------------------------------------------------------------------------
def test_device_defaults_to_an_available_device(monkeypatch):
    monkeypatch.delenv("XAI_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if expected == "cpu" and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        expected = "mps"
    assert xh.device.get_device().type == expected


def test_device_env_override(monkeypatch):
    monkeypatch.setenv("XAI_DEVICE", "cpu")
    assert xh.device.get_device() == torch.device("cpu")


def test_device_env_rejects_unknown_names(monkeypatch):
    monkeypatch.setenv("XAI_DEVICE", "tpu")
    with pytest.raises(ValueError, match="XAI_DEVICE"):
        xh.device.get_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_env_asking_for_missing_cuda_is_an_error_not_a_silent_fallback(monkeypatch):
    monkeypatch.setenv("XAI_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="no CUDA"):
        xh.device.get_device()


def test_device_falls_back_to_cpu_without_accelerators(monkeypatch):
    monkeypatch.delenv("XAI_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("xai_helpers.device._mps_available", lambda: False)
    assert xh.device.get_device() == torch.device("cpu")


# --- photos -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(xh.data.COURSE_IMAGES))
def test_course_photos_load_as_small_rgb_files(name):
    img = xh.load_image(name)
    assert img.mode == "RGB" and min(img.size) >= 224
    assert (xh.data.DATA_DIR / xh.data.COURSE_IMAGES[name][0]).stat().st_size < 150_000


def test_every_photo_has_a_source_and_licence_entry():
    sources = (xh.data.DATA_DIR / "SOURCES.md").read_text()
    for file, _ in xh.data.COURSE_IMAGES.values():
        assert file in sources


def test_load_image_from_a_path_converts_to_rgb(tmp_path):
    path = tmp_path / "gray.png"
    Image.new("L", (40, 30), 128).save(path)
    img = xh.load_image(path)
    assert img.mode == "RGB" and img.size == (40, 30)


def test_load_image_errors_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="cat"):
        xh.load_image("kitten")
    with pytest.raises(IsADirectoryError):
        xh.load_image(tmp_path)
    fake = tmp_path / "fake.jpg"
    fake.write_text("not an image")
    with pytest.raises(ValueError, match="not an image"):
        xh.load_image(fake)
