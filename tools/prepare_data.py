"""Rebuild data/*.jpg from the packages they come from (maintainers only; the results are committed).

Sources: scikit-image and matplotlib wheels (installed with the course), Debian packages ``darknet``
and ``opencv-doc`` (``apt-get install darknet opencv-doc``). Each photo is converted to RGB, its short
side resized to 320 px and saved as JPEG quality 90, which keeps every file well under 150 KB.
data/SOURCES.md records the origin and licence of each file.
"""
import os
import sys
from pathlib import Path

import matplotlib
import skimage.data
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DARKNET = Path("/usr/share/darknet/data")
OPENCV = Path("/usr/share/doc/opencv-doc/examples")
MPL = Path(matplotlib.get_data_path()) / "sample_data"

SOURCES = {
    "cat": lambda: Image.fromarray(skimage.data.chelsea()),
    "coffee": lambda: Image.fromarray(skimage.data.coffee()),
    "dog": lambda: Image.open(DARKNET / "dog.jpg"),
    "eagle": lambda: Image.open(DARKNET / "eagle.jpg"),
    "giraffe": lambda: Image.open(DARKNET / "giraffe.jpg"),
    "grace_hopper": lambda: Image.open(MPL / "grace_hopper.jpg"),
    "robin": lambda: Image.open(OPENCV / "hfs" / "data" / "000.jpg"),
    "butterfly": lambda: Image.open(OPENCV / "dnn_superres" / "butterfly.png"),
    "squirrel": lambda: Image.open(OPENCV / "data" / "squirrel_cls.jpg"),
}
SHORT_SIDE = 320


def main(out=ROOT / "data"):
    for name, opener in SOURCES.items():
        img = opener().convert("RGB")
        scale = SHORT_SIDE / min(img.size)
        if scale < 1:
            img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
        path = out / f"{name}.jpg"
        img.save(path, quality=90)
        print(f"{path.name}: {img.size[0]}x{img.size[1]}, {os.path.getsize(path) // 1024} KB")


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:]))
