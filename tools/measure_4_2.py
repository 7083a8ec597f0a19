"""Lesson 4.2's set-wide numbers: Grad-CAM, Grad-CAM++ and a middle layer on every box of the photo set, and
class discrimination on the composite scenes. Writes two small tables to data/measured/ that the lesson reads.

* ``4_2_photo_boxes.csv``: one row per (photo, class) box of ``xh.data.load_photo_set()``: the box's share of the
  image, and per map the share of its mass inside the box and the pointing-game hit (15 px tolerance).
* ``4_2_composite_scenes.csv``: one row per scene of ``xh.data.load_composite_scenes()``: for Grad-CAM and
  Grad-CAM++, the correlation of the pasted object's class map with the background photo's class map, each
  map's share of mass inside the pasted object's box, and whether each map's peak lies in that box.

Every map is 224x224 and divided by its maximum (as ``xh.grad_cam``); computed for the default model on one torch
thread, as tests/integration/test_measured_4_2_4_4b.py recomputes them: the middle layer's map for a class the model
gives almost no probability (the dog photo's pickup, p = 6e-5) is a small sum of cancelling terms, and the order in
which two threads add them moves its box mass by 1e-3.

    python tools/measure_4_2.py                 # both tables (~5 min on 2 busy cores)
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import xai_helpers as xh  # noqa: E402
from xai_helpers.methods.cam import capture_layer  # noqa: E402

OUT = ROOT / "data" / "measured"
PHOTO_TABLE = "4_2_photo_boxes.csv"
SCENE_TABLE = "4_2_composite_scenes.csv"
#: The layer compared with the default one (EfficientNet-Lite0's middle block, a 14x14 grid).
MIDDLE_LAYER = "_blocks.7"
METHODS = ("Grad-CAM", "Grad-CAM++")


def cams(image_model, inputs, targets, layer=None, chunk=8):
    """Grad-CAM and Grad-CAM++ maps (224x224, divided by their maximum) for many (input, class) pairs at once.

    One forward and one backward pass per chunk: each input's score depends only on its own activations, so
    the gradient of the summed scores holds every input's own gradient.
    """
    net = image_model.model
    module = image_model.target_layer if layer is None else net.get_submodule(layer)
    out = {name: [] for name in METHODS}
    for s in range(0, len(inputs), chunk):
        with capture_layer(module) as record, torch.enable_grad():
            logits = net(inputs[s:s + chunk])
            (g,) = torch.autograd.grad(logits.gather(1, targets[s:s + chunk, None]).sum(), record.activation)
        A = record.activation.detach()
        alpha = torch.where(g > 0, 1 / (2 + g * A.sum((2, 3), keepdim=True)), torch.zeros_like(g))
        for name, w in (("Grad-CAM", g.mean((2, 3), keepdim=True)),
                        ("Grad-CAM++", (alpha * torch.relu(g)).sum((2, 3), keepdim=True))):
            m = F.interpolate(torch.relu((w * A).sum(1, keepdim=True)), size=inputs.shape[2:], mode="bilinear",
                              align_corners=False)[:, 0].cpu()
            out[name].append(m / m.flatten(1).max(1).values.clamp_min(1e-12)[:, None, None])
    return {name: torch.cat(maps) for name, maps in out.items()}


def mass_in_box(m, box):
    """Share of a map's total inside ``box`` = [x0, y0, x1, y1] (corners inclusive)."""
    x0, y0, x1, y1 = box
    return float(m[y0:y1 + 1, x0:x1 + 1].sum() / m.sum().clamp_min(1e-12))


def scene_input(image_model, image):
    """A 224x224 composite (already the model's view) -> the model's normalised input."""
    pixels = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255).permute(2, 0, 1)[None]
    return image_model.normalize(pixels.to(image_model.device))


def photo_rows(image_model, photos, only=None):
    """Rows of the photo table; ``only`` keeps the (photo, class) pairs listed."""
    trials = [(p, c) for p in photos for c in p.classes if only is None or (p.name, c) in only]
    x = torch.cat([image_model.preprocess(p.image) for p, _ in trials])
    targets = torch.tensor([image_model.labels.index(c) for _, c in trials], device=x.device)
    maps = cams(image_model, x, targets)
    maps[f"Grad-CAM, {MIDDLE_LAYER}"] = cams(image_model, x, targets, layer=MIDDLE_LAYER)["Grad-CAM"]
    rows = []
    for i, (p, c) in enumerate(trials):
        x0, y0, x1, y1 = p.boxes[c]
        row = {"photo": p.name, "class": c, "box area": (x1 - x0 + 1) * (y1 - y0 + 1) / 224 ** 2}
        for name, m in maps.items():
            row[f"{name}: mass"] = mass_in_box(m[i], p.boxes[c])
            row[f"{name}: hit"] = int(xh.evaluation.pointing_game_hit(m[i], p.boxes[c]))
        rows.append(row)
    return pd.DataFrame(rows)


def scene_rows(image_model, scenes, photos):
    """Rows of the composite-scene table (object class = the pasted object's, background class = the photo's)."""
    main_class = {p.name: p.classes[0] for p in photos}
    x = torch.cat([scene_input(image_model, s.image) for s in scenes])
    obj = torch.tensor([s.index for s in scenes], device=x.device)
    background = torch.tensor([image_model.labels.index(main_class[s.background]) for s in scenes], device=x.device)
    for_object, for_background = cams(image_model, x, obj), cams(image_model, x, background)
    rows = []
    for i, s in enumerate(scenes):
        row = {"scene": s.name, "object class": s.cls, "background class": main_class[s.background],
               "box area": (s.box[2] - s.box[0] + 1) * (s.box[3] - s.box[1] + 1) / 224 ** 2}
        for name in METHODS:
            a, b = for_object[name][i], for_background[name][i]
            row[f"{name}: r"] = float(np.corrcoef(a.flatten().numpy(), b.flatten().numpy())[0, 1])
            row[f"{name}: object map mass"] = mass_in_box(a, s.box)
            row[f"{name}: background map mass"] = mass_in_box(b, s.box)
            row[f"{name}: object map hit"] = int(xh.evaluation.pointing_game_hit(a, s.box, tolerance=0))
            row[f"{name}: background map hit"] = int(xh.evaluation.pointing_game_hit(b, s.box, tolerance=0))
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: the recompute test's setting)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    image_model = xh.load_image_model()
    if not xh.models.is_default_model(image_model):
        raise SystemExit("The shipped tables are the default model's: unset XAI_IMAGE_MODEL.")
    photos = xh.data.load_photo_set()
    args.out.mkdir(parents=True, exist_ok=True)
    photo_rows(image_model, photos).to_csv(args.out / PHOTO_TABLE, index=False, float_format="%.6f")
    scene_rows(image_model, xh.data.load_composite_scenes(), photos).to_csv(
        args.out / SCENE_TABLE, index=False, float_format="%.6f")
    print(f"wrote {args.out / PHOTO_TABLE} and {args.out / SCENE_TABLE}")


if __name__ == "__main__":
    main()
