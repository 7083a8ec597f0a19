"""What the image explorer and its widgets share: the methods offered, accepted uploads, CAM layers, and the note
on how a photo's size changes on its way into the model."""
import os
import tempfile
from pathlib import Path

from .._typecheck import checked
from ..data import load_image
from ..methods.registry import CAM, PATH, PIXEL, get_method, method_names

__all__ = ["EXPLORER_METHODS", "UPLOAD_TYPES", "UPLOADED", "check_method", "uploaded_image", "cam_layers",
           "input_note", "NOTE_CUT_OFF", "BLOCKY_FACTOR"]

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


#: The share of a photo the centre crop may cut off before the explorer says so (a 3:2 photo loses 49 %).
NOTE_CUT_OFF = 0.5
#: From this upscaling factor on, the note warns that the maps lose all detail finer than one original pixel.
BLOCKY_FACTOR = 4.0


def _kind(width, height):
    if max(width, height) <= 64:
        return "icon"
    if width >= 2.5 * height:
        return "panorama"
    return "tall photo" if height >= 2.5 * width else "photo"


@checked
def input_note(width: int, height: int, resize: int, crop: int) -> str:
    """One line saying what happened to a ``width`` x ``height`` photo on its way into the model, or ``""``.

    The model's preprocessing (``ImageModel.pixel_transform``, as torchvision's ``Resize(resize)`` then
    ``CenterCrop(crop)``) scales the shorter side to ``resize`` and keeps the centre ``crop`` x ``crop``. The note
    says so when the crop cuts off at least ``NOTE_CUT_OFF`` of the photo, or when the photo is smaller than the
    model's input and therefore upscaled (bilinearly: a 16 px icon becomes a blurred 256 px image whose maps can
    show nothing finer than one of its 16 px wide pixels).

    Args:
        width: The photo's width in pixels.
        height: The photo's height in pixels.
        resize: The side the shorter side is scaled to (``image_model.resize``).
        crop: The side of the square the model sees (``image_model.crop``).

    Returns:
        The note (plain text), or ``""`` when the photo reaches the model without a notable change.

    Example:
        >>> from xai_helpers.explore.image_choices import input_note
        >>> print(input_note(3000, 300, resize=256, crop=224))
        The model sees the centre 224×224 of this 3000×300 panorama resized to 2560×256: 92 % of it is cut off.
        >>> print(input_note(16, 16, resize=256, crop=224))
        This 16×16 icon is upscaled 16× to 256×256 (the model sees its centre 224×224): each of its pixels is
        spread over 16×16 of the model's, so expect a blurred input and maps with no finer detail.
        >>> input_note(451, 300, resize=256, crop=224)
        ''
    """
    for name, value in (("width", width), ("height", height), ("resize", resize), ("crop", crop)):
        if value < 1:
            raise ValueError(f"{name} must be a size in pixels, at least 1; got {value}.")
    scale = resize / min(width, height)
    short, long_ = resize, int(resize * max(width, height) / min(width, height))
    new_w, new_h = (long_, short) if width >= height else (short, long_)
    cut_off = 1 - min(crop, new_w) * min(crop, new_h) / (new_w * new_h)
    kind, seen = _kind(width, height), f"{crop}×{crop}"
    cut = f"{cut_off:.0%}".replace("%", " %")
    if min(width, height) < crop:
        factor = f"{scale:.1f}".rstrip("0").rstrip(".")
        effect = (f"each of its pixels is spread over {factor}×{factor} of the model's, so expect a blurred input "
                  f"and maps with no finer detail" if scale >= BLOCKY_FACTOR else "expect a slightly blurred input")
        lost = f"; {cut} of it is cut off" if cut_off >= NOTE_CUT_OFF else ""
        return (f"This {width}×{height} {kind} is upscaled {factor}× to {new_w}×{new_h} (the model sees its centre "
                f"{seen}){lost}: {effect}.")
    if cut_off >= NOTE_CUT_OFF:
        return (f"The model sees the centre {seen} of this {width}×{height} {kind} resized to {new_w}×{new_h}: "
                f"{cut} of it is cut off.")
    return ""
