"""The course's photos and data files, a loader that always returns RGB images, and the evaluation sets.

The evaluation sets are what a verdict is measured on: ``load_photo_set`` (real photos with ImageNet classes
and hand-measured boxes, ``data/photo_set.json``), ``load_composite_scenes`` (a photo's object pasted onto other
photos at known places: exact boxes, made at load time), ``load_digit_scenes`` (the digit scenes of 4.4b and
4.5), ``load_sentence_corpus`` (English sentences for corpus-level attention statistics) and
``load_minimal_pairs`` (held-out sentence pairs that differ by a negation, a contrast or an intensifier).
``tools/prepare_data.py`` rebuilds the photos from the packages they come from and checks the catalogue.

Every file under the repository's ``data/`` folder (photos, ``boxes.json``, ``sentiment/...``) is found
through one lookup, ``data_path``: in an installed wheel the folder ships inside the package as
``xai_helpers/_data`` (pyproject.toml maps it there), found with ``importlib.resources``; in a clone or an
editable install it is the repository's ``data/`` next to the package. ``__all__`` is what lessons, tools and
benchmarks use; ``data_path``, ``course_image_path``, ``imagenet_labels`` and ``DATA_DIR`` serve the package.
"""
import csv
import functools
import json
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageOps, UnidentifiedImageError

from ._typecheck import checked
from .digits import ClutteredDigits, make_cluttered_digits

__all__ = ["COURSE_IMAGES", "load_image", "ASSET_DIR", "PhotoItem", "load_photo_set", "PHOTO_SET_FILE",
           "SceneItem", "load_composite_scenes", "SCENE_OBJECTS", "load_digit_scenes",
           "load_sentence_corpus", "load_minimal_pairs", "MINIMAL_PAIR_KINDS"]

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
    from torchvision.models import ResNet50_Weights   # torchvision pulls in torch._dynamo, ~170 MB: load it when used
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


# --- composite scenes: a photo's object pasted onto other photos at known places -------------------------
#: The objects ``load_composite_scenes`` pastes: (photo, class), each cut out of the photo's 224 view by its box.
SCENE_OBJECTS: tuple[tuple[str, str], ...] = (
    ("squirrel", "fox squirrel"), ("coffee", "espresso"), ("dog", "German shepherd"), ("butterfly", "monarch"),
    ("space_shuttle", "space shuttle"), ("parrot", "macaw"), ("bears", "brown bear"), ("pekinese", "Pekinese"),
    ("baboon", "baboon"), ("orange", "orange"), ("mug", "coffee mug"))

#: Shortest and longest side, in pixels, of a pasted object's longer side (drawn uniformly per scene).
SCENE_OBJECT_SIZE: tuple[int, int] = (64, 128)

def _view(image):
    """What the model sees of a photo: resize the short side to 256, centre-crop 224 (as ``ImageModel.view``)."""
    import torchvision.transforms as T      # torchvision pulls in torch._dynamo, ~170 MB: load it when used
    return T.Compose([T.Resize(256), T.CenterCrop(VIEW_SIZE)])(image)


@dataclass(frozen=True)
class SceneItem:
    """One composite scene: an object cut out of one photo, pasted onto another photo's view at a known place.

    The image is already the model's 224x224 view: turn it into the model's input with
    ``model.normalize(torchvision.transforms.functional.to_tensor(scene.image).unsqueeze(0))`` -- ``preprocess``
    would resize and crop it again and move the box.

    Args:
        name: ``"<number>_<object photo>_on_<background>"``.
        image: The scene, an RGB PIL image of 224x224 pixels.
        background: The photo whose 224 view is the background (its own classes differ from ``cls``).
        object_photo: The photo the object was cut out of (by its hand-measured box).
        cls: The pasted object's ImageNet class name.
        index: Its ImageNet index.
        box: ``(x0, y0, x1, y1)``, corners inclusive: exactly the pasted pixels.
        patch: The pasted object as it appears in the scene (``image.crop((x0, y0, x1 + 1, y1 + 1))``).

    Example:
        >>> from xai_helpers.data import load_composite_scenes
        >>> scene = load_composite_scenes(n=1)[0]
        >>> scene.image.size, scene.cls, scene.object_photo
        ((224, 224), 'fox squirrel', 'squirrel')
    """
    name: str
    image: Image.Image
    background: str
    object_photo: str
    cls: str
    index: int
    box: tuple[int, int, int, int]
    patch: Image.Image


@functools.lru_cache(maxsize=1)
def _scene_parts():
    """The 224 views of the photo set and the object cut-outs, made once per process."""
    photos = {item.name: item for item in _photo_items()}
    views = {name: _view(item.image) for name, item in photos.items()}
    objects = []
    for photo, label in SCENE_OBJECTS:
        x0, y0, x1, y1 = photos[photo].boxes[label]
        objects.append((photo, label, views[photo].crop((x0, y0, x1 + 1, y1 + 1))))
    return photos, views, objects


def _integer(value, name, minimum, example):
    """``value`` checked as an integer >= ``minimum`` (``_validate`` imports this module, so it has its own)."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum} (e.g. {example}); got {value!r}.")
    return int(value)


@checked
def load_composite_scenes(n: int = 40, seed: int = 0) -> list[SceneItem]:
    """Scenes with an exactly known object box: a course object pasted onto another photo (4.5 and after).

    Scene ``i`` pastes ``SCENE_OBJECTS[i % 11]`` (cut out of its photo's 224 view by its hand-measured box)
    onto the 224 view of a photo drawn from the photo set whose own classes differ, scaled so that its longer
    side is 64 to 128 pixels, at a place drawn uniformly inside the frame. ``seed`` draws the backgrounds,
    sizes and places; the same ``n`` and ``seed`` give the same scenes, pixel for pixel. The background keeps
    its own object, so the scene holds two classes: the pasted one, whose box is exact, and the photo's.

    Args:
        n: How many scenes (every object appears ``n // 11`` or ``n // 11 + 1`` times).
        seed: The random seed, a non-negative integer.

    Returns:
        A list of ``n`` ``SceneItem``.

    Raises:
        ValueError: ``n`` is not a positive integer, or ``seed`` is negative.

    Example:
        >>> from xai_helpers.data import load_composite_scenes
        >>> scenes = load_composite_scenes(n=3, seed=0)
        >>> [s.cls for s in scenes], scenes[0].image.size
        (['fox squirrel', 'espresso', 'German shepherd'], (224, 224))
        >>> scene = scenes[0]
        >>> x0, y0, x1, y1 = scene.box
        >>> scene.image.crop((x0, y0, x1 + 1, y1 + 1)).tobytes() == scene.patch.tobytes()
        True
    """
    n, rng = _integer(n, "n", 1, 40), np.random.default_rng(_integer(seed, "seed", 0, 0))
    photos, views, objects = _scene_parts()
    index = {label: i for i, label in enumerate(imagenet_labels())}
    scenes = []
    for i in range(n):
        photo, label, cut = objects[i % len(objects)]
        backgrounds = [name for name, item in photos.items() if name != photo and label not in item.classes]
        background = backgrounds[int(rng.integers(len(backgrounds)))]
        longest = int(rng.integers(SCENE_OBJECT_SIZE[0], SCENE_OBJECT_SIZE[1] + 1))
        scale = longest / max(cut.size)
        patch = cut.resize((max(1, round(cut.width * scale)), max(1, round(cut.height * scale))), Image.LANCZOS)
        left = int(rng.integers(VIEW_SIZE - patch.width + 1))
        top = int(rng.integers(VIEW_SIZE - patch.height + 1))
        image = views[background].copy()
        image.paste(patch, (left, top))
        scenes.append(SceneItem(name=f"{i:03d}_{photo}_on_{background}", image=image, background=background,
                                object_photo=photo, cls=label, index=index[label],
                                box=(left, top, left + patch.width - 1, top + patch.height - 1), patch=patch))
    return scenes


# --- the digit scenes of 4.4b and 4.5 ----------------------------------------------------------------------
@checked
def load_digit_scenes(split: str = "test", n: int | None = None) -> ClutteredDigits:
    """The digit scenes of 4.4b and 4.5 with their boxes: sklearn digits pasted on clutter at known places.

    The same scenes the lessons make (``xh.digits.make_cluttered_digits(split, n=n)``): the test split is the
    fixed set of 540 digits the course's ViT never saw (4.4b scores attention on it; 4.5's
    ``groundtruth.make_scenes`` keeps those whose digit is clear of the mark). Note the boxes' convention,
    which differs from the photos': ``(top, left, bottom, right)`` rows and columns of the digit's ink,
    bottom/right exclusive, in the 48x48 scene; as a photo box that is ``(left, top, right - 1, bottom - 1)``.

    Args:
        split: ``"test"`` (default) or ``"train"``.
        n: Keep the first ``n`` scenes of the split; ``None`` keeps all (540 test, 1,257 train).

    Returns:
        ``ClutteredDigits``: ``images`` [N, 1, 48, 48] in [0, 1], ``labels`` [N], ``boxes`` [N, 4], ``digit_index``.

    Raises:
        ValueError: ``split`` is neither ``"train"`` nor ``"test"``, or ``n`` is not a positive integer.

    Example:
        >>> from xai_helpers.data import load_digit_scenes
        >>> scenes = load_digit_scenes(n=2)
        >>> len(scenes), tuple(scenes.images.shape), scenes.labels.tolist()
        (2, (2, 1, 48, 48), [1, 4])
    """
    return make_cluttered_digits(split, n=None if n is None else _integer(n, "n", 1, 100))


# --- sentences: a corpus for attention statistics, and held-out minimal pairs ------------------------------
#: The kinds of edit in ``load_minimal_pairs``.
MINIMAL_PAIR_KINDS: tuple[str, ...] = ("negation", "contrast", "intensifier")

_PAIR_COLUMNS = ["pair_id", "kind", "base", "variant", "base_label", "variant_label"]


def _read_tsv(*parts, columns):
    """The rows of a tab-separated course file with a header (no quoting), checked to have ``columns``."""
    with open(data_path(*parts), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows or any(set(row) != set(columns) or None in row.values() for row in rows):
        raise ValueError(f"{'/'.join(parts)} must be a tab-separated file with the header {columns} and a value "
                         "in every column; reinstall the course package or restore the file from the repository.")
    return rows


@functools.lru_cache(maxsize=1)
def _sentences():
    texts = [row["text"] for split in ("train", "test")
             for row in _read_tsv("sentiment", f"{split}.tsv", columns=["label", "text"])]
    texts += [row["text"] for row in _read_tsv("sentences", "corpus.tsv", columns=["kind", "text"])]
    return tuple(dict.fromkeys(text.strip() for text in texts if text.strip()))


@checked
def load_sentence_corpus() -> list[str]:
    """English sentences for corpus-level attention statistics (CC0, written for the course; 4.4a and after).

    The course's labelled review sentences (``data/sentiment/train.tsv`` then ``test.tsv``) followed by
    ``data/sentences/corpus.tsv``: reviews, plain descriptions, questions, lists and instructions of 4 to 35
    words, so that a statistic over heads is not one about review style only. Duplicates are dropped, the
    first occurrence kept; the order is fixed.

    Returns:
        A new list of 641 sentences.

    Example:
        >>> from xai_helpers.data import load_sentence_corpus
        >>> sentences = load_sentence_corpus()
        >>> len(sentences), len(set(sentences)), sentences[0]
        (641, 641, 'This show gets better with every episode.')
    """
    return list(_sentences())


@functools.lru_cache(maxsize=1)
def _minimal_pairs():
    rows = _read_tsv("sentences", "minimal_pairs.tsv", columns=_PAIR_COLUMNS)
    frame = pd.DataFrame(rows, columns=_PAIR_COLUMNS).astype({"pair_id": int})
    if not frame["kind"].isin(MINIMAL_PAIR_KINDS).all():
        raise ValueError(f"sentences/minimal_pairs.tsv: kind must be one of {MINIMAL_PAIR_KINDS}; restore the file.")
    return frame


@checked
def load_minimal_pairs() -> pd.DataFrame:
    """Held-out sentence pairs that differ by one small edit: a negation, a contrast or an intensifier (4.5).

    Written for the course (CC0) before any model was run on them, so a hypothesis formed on other sentences
    can be *tested* here (``data/sentences/README.md``); do not use them to form one. Each pair changes the
    base sentence as little as possible:

    * ``negation``: "not" inserted ("The soup was good." / "The soup was not good."; also negated negatives,
      "The film was bad." / "The film was not bad."): the intended sentiment flips;
    * ``contrast``: the two clauses of "A, but B." swapped ("B, but A."): the clause after "but" carries the
      intended sentiment, so it flips;
    * ``intensifier``: a degree word inserted before the adjective, intensifiers ("very", "extremely") and a few
      diminishers ("slightly", "a bit"): the sentiment stays, its strength changes.

    Returns:
        A new DataFrame, one row per pair: ``pair_id`` (int), ``kind``, ``base``, ``variant``, ``base_label``,
        ``variant_label`` (``"positive"`` / ``"negative"``, the sentiment a human means).

    Example:
        >>> from xai_helpers.data import load_minimal_pairs
        >>> pairs = load_minimal_pairs()
        >>> len(pairs), pairs["kind"].value_counts().to_dict()
        (126, {'negation': 50, 'contrast': 40, 'intensifier': 36})
        >>> pairs.loc[0, ["base", "variant", "variant_label"]].tolist()
        ['The soup was good.', 'The soup was not good.', 'negative']
    """
    return _minimal_pairs().copy()
