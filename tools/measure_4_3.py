"""Set-wide numbers of lesson 4.3 (Integrated Gradients): completeness per rule and step count, baselines.

For evaluation photos (xh.data.load_photo_set; the cat first, then the others in a seeded random order, as
many as ``--n-photos``) and their main class, with the default image model:

* black baseline, 64 steps of the right Riemann sum and of Gauss-Legendre: the relative completeness error
  |sum of IG - (F(x) - F(black))| / |F(x) - F(black)|;
* the same two errors at 200 steps, the helper's default step count (part ``steps200``);
* blurred and white baselines, 64 Gauss-Legendre steps: F(x) - F(x') and the completeness error;
* for the three Gauss-Legendre maps, the mass in the box: the share of |IG| (summed over channels, smoothed
  with a Gaussian of 4 px, as the lesson reads it) inside the main class's box divided by the box's share of
  the image (1 = no better than spreading evenly).

The cost is 4 x 64 + 2 x 200 forward and backward passes per photo: about a minute per photo on two CPU cores.
One row per photo goes to data/measured/4_3_integrated_gradients.csv (the lesson reads it;
tests/integration/test_measured_4_1_4_3.py recomputes a random subset and compares).

    python tools/measure_4_3.py --n-photos 34             # the whole set, in the tool's order
    python tools/measure_4_3.py --photos cat --parts gausslegendre --out /tmp/check.csv
"""
import argparse
import random
import sys
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT))   # an explicit PYTHONPATH comes first
sys.path.append(str(ROOT / "tools"))   # measured_tables, also when a test loads this file by path

import xai_helpers as xh  # noqa: E402
from measured_tables import write_rows  # noqa: E402  (tools/measured_tables.py)
from xai_helpers.methods.integrated import DEFAULT_IG_STEPS, make_baseline, quadrature  # noqa: E402

OUT = ROOT / "data" / "measured" / "4_3_integrated_gradients.csv"
STEPS = 64
PARTS = ("riemann", "gausslegendre", "steps200", "blur", "white")
DEFAULT_STEPS = DEFAULT_IG_STEPS   # the helper's default (xh.integrated_gradients)
BATCH = 8


def photo_order(photos, seed=0):
    """The cat first (the lesson's walk-through photo), then the rest in a seeded random order."""
    rest = [p for p in photos if p.name != "cat"]
    random.Random(seed).shuffle(rest)
    return [p for p in photos if p.name == "cat"] + rest


def box_mask(box, size=224):
    x0, y0, x1, y1 = box
    mask = np.zeros((size, size), dtype=bool)
    mask[y0:y1 + 1, x0:x1 + 1] = True
    return mask


def mass_ratio(attributions, mask):
    """Share of the smoothed |IG| (channel sum) inside the mask / the mask's share of the image."""
    m = np.abs(gaussian_filter(xh.to_numpy(attributions.sum(1)[0]), sigma=4))
    return float(m[mask].sum() / m.sum()) / float(mask.mean())


def path(net, x, baseline, target, alphas, weights):
    """h(alpha_k) = grad F . (x - x') at each node, and the IG attributions sum_k w_k grad F * (x - x')."""
    alphas = torch.as_tensor(np.asarray(alphas, dtype=np.float32)).to(x.device)
    weights = torch.as_tensor(np.asarray(weights, dtype=np.float32)).to(x.device)
    h, weighted = [], torch.zeros_like(x)
    for a, w in zip(alphas.split(BATCH), weights.split(BATCH)):
        points = (baseline + a.view(-1, 1, 1, 1) * (x - baseline)).requires_grad_(True)
        (grads,) = torch.autograd.grad(net(points)[:, target].sum(), points)
        h.append((grads * (x - baseline)).flatten(1).sum(1))
        weighted += (w.view(-1, 1, 1, 1) * grads).sum(0, keepdim=True)
    return torch.cat(h).detach().cpu().numpy().astype(np.float64), (x - baseline) * weighted


def measure_photo(image_model, item, parts=PARTS):
    net = image_model.model
    x = image_model.preprocess(item.image)
    target, cls = item.indices[0], item.classes[0]
    mask = box_mask(item.boxes[cls])
    row = {"photo": item.name, "class": cls, "box_share": round(float(mask.mean()), 4)}
    baselines = {name: make_baseline(image_model, x, name) for name in ("black", "white", "blur")}
    with torch.no_grad():
        scores = net(torch.cat([x, *baselines.values()]))[:, target]
    gaps = {name: float(scores[0] - scores[i + 1]) for i, name in enumerate(baselines)}
    row["gap_black"] = round(gaps["black"], 5)
    for rule in ("riemann", "gausslegendre"):
        if rule in parts:
            method = "riemann_right" if rule == "riemann" else rule
            _, attributions = path(net, x, baselines["black"], target, *quadrature(method, STEPS))
            row[f"error_{rule}_black"] = round(abs(float(attributions.sum()) - gaps["black"]) / abs(gaps["black"]), 5)
            if rule == "gausslegendre":
                row["mass_black"] = round(mass_ratio(attributions, mask), 5)
    if "steps200" in parts:
        for rule in ("riemann", "gausslegendre"):
            method = "riemann_right" if rule == "riemann" else rule
            _, attributions = path(net, x, baselines["black"], target, *quadrature(method, DEFAULT_STEPS))
            row[f"error_{rule}_black_{DEFAULT_STEPS}"] = round(abs(float(attributions.sum()) - gaps["black"]) / abs(gaps["black"]), 5)
    for name in ("blur", "white"):
        if name in parts:
            _, attributions = path(net, x, baselines[name], target, *quadrature("gausslegendre", STEPS))
            row[f"gap_{name}"] = round(gaps[name], 5)
            row[f"error_gausslegendre_{name}"] = round(abs(float(attributions.sum()) - gaps[name]) / abs(gaps[name]), 5)
            row[f"mass_{name}"] = round(mass_ratio(attributions, mask), 5)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", nargs="+", default=None, help="photo names (default: the set's order)")
    parser.add_argument("--n-photos", type=int, default=None, help="the first N photos of the order (default: all)")
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    image_model = xh.load_image_model()
    photos = photo_order(xh.data.load_photo_set())
    photos = [p for p in photos if p.name in args.photos] if args.photos else photos[:args.n_photos]
    write_rows(args.out, photos, lambda item: measure_photo(image_model, item, args.parts))


if __name__ == "__main__":
    main()
