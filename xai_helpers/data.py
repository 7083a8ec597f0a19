"""The course's photos and data files, a loader that always returns RGB images, and the evaluation sets.

The evaluation sets are what a verdict is measured on: ``load_photo_set`` (real photos with ImageNet classes
and hand-measured boxes, ``data/photo_set.json``). ``tools/prepare_data.py`` rebuilds the photos from the
packages they come from and checks the catalogue.

Every file under the repository's ``data/`` folder (photos, ``boxes.json``, ``sentiment/...``) is found
through one lookup, ``data_path``: in an installed wheel the folder ships inside the package as
``xai_helpers/_data`` (pyproject.toml maps it there), found with ``importlib.resources``; in a clone or an
editable install it is the repository's ``data/`` next to the package. ``__all__`` is what lessons, tools and
benchmarks use; ``data_path``, ``course_image_path``, ``imagenet_labels`` and ``DATA_DIR`` serve the package.
"""
import functools
import json
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from torchvision.models import ResNet50_Weights

from ._typecheck import checked

__all__ = ["COURSE_IMAGES", "load_image", "ASSET_DIR", "PhotoItem", "load_photo_set", "PHOTO_SET_FILE"]

#: Files that ship inside the package: trained checkpoints (vit/, groundtruth/) and BertViz scripts.
ASSET_DIR: Path = Path(__file__).resolve().parent / "assets"


def _find_data_dir():
    """The folder holding the course data: the installed copy first, else the repository's ``data/``."""
    try:
        packaged = resources.files(__package__) / "_data"
    except (ModuleNotFoundError, TypeError):   # imported outside its package (no __package__)
        packaged = None
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "data"


#: The folder holding the course's photos and data files (see ``data_path``).
DATA_DIR: Path = _find_data_dir()


def data_path(*parts: str) -> Path:
    """Return the path of a course data file, e.g. ``data_path("sentiment", "train.tsv")``.

    Raises ``FileNotFoundError`` naming the fix when the file is not there (a partial install).
    """
    path = DATA_DIR.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"Course data file {'/'.join(map(str, parts))!r} not found in {str(DATA_DIR)!r}. Reinstall the "
            "course package (pip install . from the repository) or run from a complete clone.")
    return path

#: The course photos, short name -> (file in data/, what is in the photo); origins and licences: data/SOURCES.md.
COURSE_IMAGES: dict[str, tuple[str, str]] = {
    "cat": ("cat.jpg", "a tabby cat (scikit-image 'chelsea')"),
    "dog": ("dog.jpg", "a dog, a bicycle and a pickup truck in one photo"),
    "coffee": ("coffee.jpg", "a cup of espresso (scikit-image 'coffee')"),
    "butterfly": ("butterfly.jpg", "a monarch butterfly"),
    "squirrel": ("squirrel.jpg", "a fox squirrel"),
    "eagle": ("eagle.jpg", "a bald eagle"),
    "grace_hopper": ("grace_hopper.jpg", "Rear Admiral Grace Hopper in uniform"),
    "robin": ("robin.jpg", "a European robin (no ImageNet class)"),
    "giraffe": ("giraffe.jpg", "a giraffe (no ImageNet class)"),
}

#: Largest image the loader decodes at full size; bigger ones are reduced while decoding.
MAX_PIXELS: int = 40_000_000


def course_image_path(name: str) -> Path:
    """Return the path of a course photo given its short name (see ``COURSE_IMAGES``)."""
    try:
        return data_path(COURSE_IMAGES[name][0])
    except KeyError:
        raise KeyError(f"{name!r} is not one of the course's photos. Known names: "
                       f"{', '.join(sorted(COURSE_IMAGES))}; or pass a path to an image file.") from None


@checked
def load_image(name_or_path: str | Path | Image.Image) -> Image.Image:
    """Load a course photo by short name (``"cat"``, ``"dog"``, ...) or any image file; return RGB PIL (taught in 4.1).

    EXIF orientation is applied, so the image is upright as a photo viewer shows it; grayscale,
    palette, 16-bit, CMYK and RGBA images are converted to 8-bit RGB (transparency composited on white).

    Args:
        name_or_path: A key of ``COURSE_IMAGES``, the path of an image file (JPEG, PNG, BMP, GIF, TIFF, WebP),
            or a PIL image (converted to RGB).

    Returns:
        The photo as an 8-bit RGB PIL image at its full size (``ImageModel.preprocess`` resizes and crops).

    Raises:
        TypeError: ``name_or_path`` is neither a str, a path nor a PIL image.
        FileNotFoundError: There is no file at the path (the message lists the course photos).
        ValueError: The file is not an image Pillow can read, is corrupt, or is too large to decode safely.

    Example:
        >>> import xai_helpers as xh
        >>> photo = xh.load_image("cat")
        >>> photo.mode, photo.size
        ('RGB', (451, 300))
    """
    return read_image(name_or_path, "name_or_path")


def read_image(source, name):
    """``load_image`` for a function whose argument ``name`` takes a photo (errors name that argument)."""
    if isinstance(source, Image.Image):
        return _to_rgb(source)
    if not isinstance(source, (str, Path)):
        raise TypeError(f"{name} must be a course photo name, a file path or a PIL image; got {type(source).__name__}.")
    key = str(source)
    path = course_image_path(key) if key in COURSE_IMAGES else Path(source).expanduser()
    if not path.exists():
        hint = (f" Course photos: {', '.join(sorted(COURSE_IMAGES))}."
                if "/" not in key and "\\" not in key and "." not in key else "")
        raise FileNotFoundError(f"No image at {str(path)!r} ({name}={key!r}): check the path.{hint}")
    if path.is_dir():
        raise IsADirectoryError(f"{name}: {str(path)!r} is a directory; pass the path of one image file in it.")
    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_PIXELS:  # decode big JPEGs at reduced size
                img.draft("RGB", (img.width // 4, img.height // 4))
            img.load()
            return _to_rgb(img)
    except Image.DecompressionBombError as err:
        raise ValueError(f"{name}: {str(path)!r} is too large to decode safely ({err}). Downscale it first, "
                         "e.g. to a few thousand pixels per side.") from None
    except UnidentifiedImageError:
        raise ValueError(f"{name}: {str(path)!r} is not an image Pillow can read (wrong extension or a "
                         "different file format?). Use a JPEG, PNG, BMP, GIF, TIFF or WebP file.") from None
    except (OSError, SyntaxError) as err:
        raise ValueError(f"{name}: {str(path)!r} could not be decoded ({err}); the file is probably truncated "
                         "or corrupt. Download or copy it again.") from None


def _to_rgb(img):
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if arr.max() > 255 else 255.0
        img = Image.fromarray((arr / hi * 255).round().clip(0, 255).astype("uint8"), "L")
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB")


@functools.lru_cache(maxsize=1)
def imagenet_labels() -> list[str]:
    """Return the 1000 ImageNet-1k class names in index order (shipped with torchvision, no download)."""
    return list(ResNet50_Weights.IMAGENET1K_V2.meta["categories"])


# --- the evaluation photos ------------------------------------------------------------------------------
#: The evaluation photos' catalogue in ``data/``: file, origin, licence, ImageNet classes and boxes per photo.
PHOTO_SET_FILE: str = "photo_set.json"

#: Side of the model's view that the boxes refer to (resize the short side to 256, centre-crop 224).
VIEW_SIZE: int = 224


@dataclass(frozen=True)
class PhotoItem:
    """One evaluation photo with its ImageNet classes and hand-measured boxes (``load_photo_set``).

    Args:
        name: The photo's short name (``"cat"``, ``"owl"``, ...).
        image: The photo as stored (8-bit RGB PIL, short side at most 320 px); ``model.view(item.image)`` gives
            the 224x224 view the boxes refer to.
        classes: The ImageNet-1k class names in the photo, the main one first.
        indices: Their ImageNet indices, in the same order.
        boxes: Class name -> ``(x0, y0, x1, y1)``, pixels of the 224x224 view, corners inclusive; several
            instances of a class share one box around all of them.
        source: Where the photo comes from: ``"<package>: <path inside it>"``.
        licence: Its licence (for a Debian package: the package's, the single photo's provenance is not stated).
        note: What is special about it (a nearest class, a model that errs), or ``""``.
        top5_has_class: Whether the default model's top-5 held a listed class when the set was made.

    Example:
        >>> from xai_helpers.data import load_photo_set
        >>> item = next(p for p in load_photo_set() if p.name == "dog")
        >>> item.classes, item.indices[0], item.boxes["pickup"]
        (('German shepherd', 'bicycle-built-for-two', 'pickup'), 235, (148, 12, 223, 60))
    """
    name: str
    image: Image.Image
    classes: tuple[str, ...]
    indices: tuple[int, ...]
    boxes: dict[str, tuple[int, int, int, int]]
    source: str
    licence: str
    note: str = ""
    top5_has_class: bool = True


def _photo_box(name, label, box):
    if (not isinstance(box, list) or len(box) != 4 or not all(isinstance(v, int) for v in box)
            or not (0 <= box[0] < box[2] < VIEW_SIZE and 0 <= box[1] < box[3] < VIEW_SIZE)):
        raise ValueError(f"{PHOTO_SET_FILE}: the box of {label!r} in {name!r} must be [x0, y0, x1, y1] with "
                         f"0 <= x0 < x1 < {VIEW_SIZE} and 0 <= y0 < y1 < {VIEW_SIZE}; got {box!r}. Check the file "
                         "(python tools/prepare_data.py --check).")
    return tuple(box)


@functools.lru_cache(maxsize=1)
def _photo_items():
    """The photo set, read and decoded once per process (``load_photo_set`` hands out copies)."""
    index = {label: i for i, label in enumerate(imagenet_labels())}
    catalogue = json.loads(data_path(PHOTO_SET_FILE).read_text(encoding="utf-8"))["photos"]
    items = []
    for name, entry in catalogue.items():
        if not entry["classes"]:          # a course photo without an ImageNet class (robin, giraffe)
            continue
        unknown = [label for label in entry["classes"] if label not in index]
        if unknown:
            raise ValueError(f"{PHOTO_SET_FILE}: {name!r} lists {unknown}, which are not ImageNet-1k class names "
                             "(see xai_helpers.data.imagenet_labels()); fix the file.")
        origin = entry["origin"]
        items.append(PhotoItem(
            name=name, image=read_image(data_path(*entry["file"].split("/")), "photo"),
            classes=tuple(entry["classes"]), indices=tuple(index[label] for label in entry["classes"]),
            boxes={label: _photo_box(name, label, box) for label, box in entry["classes"].items()},
            source=f"{entry['package']}: {'/' + origin if origin.startswith('usr/') else origin}",
            licence=entry["licence"], note=entry.get("note", ""),
            top5_has_class=bool(entry["model"]["class_in_top5"])))
    return tuple(items)


@checked
def load_photo_set() -> list[PhotoItem]:
    """The evaluation photos: real photos with their ImageNet classes and hand-measured boxes (4.5 and after).

    34 photos from PyPI wheels and Debian packages (``data/SOURCES.md``: origin, licence, the model's top-1),
    33 ImageNet classes, in the catalogue's fixed order (the nine course photos with a class first). The files
    are decoded once per process; every call returns fresh copies, so changing one does not change the next.

    Returns:
        A list of ``PhotoItem``.

    Raises:
        ValueError: The catalogue names a class that is not an ImageNet class, or a box outside the 224 view.

    Example:
        >>> from xai_helpers.data import load_photo_set
        >>> photos = load_photo_set()
        >>> len(photos), photos[0].name, photos[0].image.mode, len({c for p in photos for c in p.classes})
        (34, 'cat', 'RGB', 33)
    """
    return [replace(item, image=item.image.copy(), boxes=dict(item.boxes)) for item in _photo_items()]
