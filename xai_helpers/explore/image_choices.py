"""What the image explorer and its widgets share: the methods offered, accepted uploads, CAM layers."""
import os
import tempfile
from pathlib import Path

from ..data import load_image
from ..methods.registry import CAM, PATH, PIXEL, get_method, method_names

__all__ = ["EXPLORER_METHODS", "UPLOAD_TYPES", "UPLOADED", "check_method", "uploaded_image", "cam_layers"]

#: Method keys the explorer offers: every registered model-based method except the fixed-setting variants.
EXPLORER_METHODS = method_names(kinds=(CAM, PIXEL, PATH), variants=False)
UPLOAD_TYPES = "image/jpeg,image/png,image/webp,.jpg,.jpeg,.png,.webp"
UPLOADED = "__upload__"


def check_method(value, name="method"):
    """``value`` checked as a method the explorer offers -> ``value``; else a ValueError naming ``name``.

    An unregistered name gets the registry's error (close matches and the choices); a registered method the
    explorer does not offer (a fixed-setting variant, a method without a model) gets the explorer's choices.
    """
    if value in EXPLORER_METHODS:
        return value
    try:
        get_method(value)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None
    raise ValueError(f"{name}={value!r} is not one of the explorer's methods; choose one of: "
                     f"{', '.join(EXPLORER_METHODS)}.")


def uploaded_image(upload_value):
    """FileUpload's value (ipywidgets 8: a tuple of dicts) -> ``(RGB PIL image, file name)``.

    The bytes go through ``load_image``, so a file that is not an image gets its error text (naming
    the uploaded file, not the temporary copy).
    """
    if not upload_value:
        raise ValueError("No file was uploaded.")
    item = upload_value[-1]
    name = os.path.basename(str(item.get("name") or "upload"))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(bytes(item["content"]))
        try:
            return load_image(path), name
        except (ValueError, OSError) as err:
            raise ValueError(str(err).replace(str(path), name)) from None


def cam_layers(image_model):
    """Layer names offered for the CAM methods: the default target layer, then two earlier ones."""
    names = dict(image_model.model.named_children())
    if "_blocks" in names:
        n = len(names["_blocks"])
        extra = [f"_blocks.{n - 1}", f"_blocks.{n - 5}"]
    else:
        extra = [n for n in ("layer3", "layer2") if n in names]
    return [image_model.target_layer_name] + extra
