"""Set-wide numbers of lesson 4.3 (Integrated Gradients): completeness per rule and step count, baselines.

For evaluation photos (xh.data.load_photo_set; the cat first, then the others in a seeded random order, as
many as ``--n-photos``) and their main class, with the default image model:

* black baseline, 64 steps of the right Riemann sum and of Gauss-Legendre: the relative completeness error
  |sum of IG - (F(x) - F(black))| / |F(x) - F(black)|;
* the same two errors at 200 steps, the helper's default step count (part ``steps200``; one rule alone:
  ``riemann_steps200`` or ``gausslegendre_steps200``);
* blurred and white baselines, 64 Gauss-Legendre steps: F(x) - F(x') and the completeness error;
* for the three Gauss-Legendre maps, the mass in the box: the share of |IG| (summed over channels, smoothed
  with a Gaussian of 4 px, as the lesson reads it) inside the main class's box divided by the box's share of
  the image (1 = no better than spreading evenly);
* expected gradients (part ``eg``): 64 draws (seed 0, as xh.methods.expected_gradients and Captum's
  GradientShap draw them), each a baseline from the other 33 photos of the set and a point alpha ~ U(0, 1)
  of its path, one gradient each -- the cost of 64 IG steps. F(x) - mean F(x') over the drawn baselines, the
  completeness error and the mass in the box, and the spread of the two across draws: their standard
  deviation over 200 bootstrap resamples of the 64 draws (what another seed could give; for the error also
  the spread of its log10, the scale the lesson compares errors on: half its 16-84 % range, ``robust_sd``).

The cost is 5 x 64 + 2 x 200 forward and backward passes per photo: about a minute per photo on two idle CPU cores.

``--cat-path`` writes data/measured/4_3_cat_path.csv instead: the walk-through photo's path from black, h(alpha) and
the score at the 300 points of the right Riemann grid and at the 10 and 300 nodes of Gauss-Legendre (610 passes),
the part of lesson 4.3's fine grid that the lesson reads instead of recomputing.
One row per photo goes to data/measured/4_3_integrated_gradients.csv (the lesson reads it;
tests/integration/test_measured_4_1_4_3.py recomputes a random subset and compares).

    python tools/measure_4_3.py --n-photos 34             # the whole set, in the tool's order
    python tools/measure_4_3.py --photos cat --parts gausslegendre --out /tmp/check.csv
    python tools/measure_4_3.py --cat-path
"""
import argparse
import csv
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
from xai_helpers.methods.expected import DEFAULT_EG_SAMPLES, draw_baselines  # noqa: E402
from xai_helpers.methods.integrated import DEFAULT_IG_STEPS, make_baseline, quadrature  # noqa: E402

OUT = ROOT / "data" / "measured" / "4_3_integrated_gradients.csv"
STEPS = 64
PARTS = ("riemann", "gausslegendre", "steps200", "blur", "white", "eg")
ONE_RULE_PARTS = ("riemann_steps200", "gausslegendre_steps200")   # half of steps200 each (the test's rotation)
DEFAULT_STEPS = DEFAULT_IG_STEPS   # the helper's default (xh.integrated_gradients)
BATCH = 8
EG_SAMPLES, EG_SEED = DEFAULT_EG_SAMPLES, 0   # the lesson's expected gradients: 64 draws, seed 0
CAT_PATH_OUT = ROOT / "data" / "measured" / "4_3_cat_path.csv"
CAT_PATH_RULES = (("riemann_right", 300), ("gausslegendre", 10), ("gausslegendre", 300))
EG_RESAMPLES = 200                            # bootstrap resamples of the draws, for their spread


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
    return mass_of_channel_sum(xh.to_numpy(attributions.sum(1)[0]), mask)


def mass_of_channel_sum(channel_sum, mask):
    m = np.abs(gaussian_filter(np.asarray(channel_sum, dtype=np.float64), sigma=4))
    return float(m[mask].sum() / m.sum()) / float(mask.mean())


def expected_gradient_draws(net, x, target, others, n_samples=EG_SAMPLES, seed=EG_SEED):
    """Each draw's term of expected gradients (as xh.methods.expected_gradients: baseline b = others[i],
    point a ~ U(0, 1), term (x - b) * dF/dx(a x + (1 - a) b)) summed over channels (numpy, n x H x W), the
    term's total (n,), and F(b) of the drawn baselines (n,). Their means give the EG map and its delta."""
    indices, alphas = draw_baselines(len(others), n_samples, seed)
    alphas = torch.from_numpy(alphas.astype(np.float32)).view(-1, 1, 1, 1)
    drawn = others[torch.from_numpy(indices)]
    with torch.no_grad():
        scores = torch.cat([net(chunk)[:, target] for chunk in others.split(BATCH)]).numpy().astype(np.float64)
    maps, totals = [], []
    for b, a in zip(drawn.split(BATCH), alphas.split(BATCH)):
        points = (a * x + (1 - a) * b).requires_grad_(True)
        (grads,) = torch.autograd.grad(net(points)[:, target].sum(), points)
        terms = ((x - b) * grads).detach()
        maps.append(terms.sum(1).numpy().astype(np.float64))
        totals.append(terms.flatten(1).sum(1).numpy().astype(np.float64))
    return np.concatenate(maps), np.concatenate(totals), scores[indices]


def robust_sd(values):
    """Half the distance between the 16th and 84th percentiles: the standard deviation of a normal sample, but
    set by the middle of ``values``, not by their tails. The log10 of a resampled completeness error has a long
    tail: a resample whose total lands next to F(x) - mean F(x') has an error near 0 and a log10 far below the
    rest, which alone sets a plain standard deviation and moves it by 10 % when the gradients change in their
    last float digits (another CPU's kernels; the apple, the orange and the horses)."""
    low, high = np.percentile(np.asarray(values, dtype=np.float64), [16, 84])
    return float(high - low) / 2


def expected_gradient_row(net, x, target, others, mask, score):
    """gap_eg, error_eg, mass_eg of the 64-draw EG map, and the bootstrap spread of error and mass over draws."""
    maps, totals, baseline_scores = expected_gradient_draws(net, x, target, others)
    flat = maps.reshape(len(maps), -1)

    def measures(rows):
        gap = score - baseline_scores[rows].mean()
        weights = np.bincount(rows, minlength=len(maps)) / len(rows)   # the rows' mean map, without copying them
        mean_map = (weights @ flat).reshape(maps.shape[1:])
        return gap, abs(totals[rows].mean() - gap) / abs(gap), mass_of_channel_sum(mean_map, mask)

    gap, error, mass = measures(np.arange(len(totals)))
    rng = np.random.default_rng(0)
    resampled = np.array([measures(rng.integers(0, len(totals), len(totals)))[1:] for _ in range(EG_RESAMPLES)])
    return {"gap_eg": round(float(gap), 5), "error_eg": round(float(error), 5), "error_eg_sd": round(float(resampled[:, 0].std()), 5),
            "log_error_eg_sd": round(robust_sd(np.log10(resampled[:, 0])), 5),
            "mass_eg": round(mass, 5), "mass_eg_sd": round(float(resampled[:, 1].std()), 5)}


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


def path_values(net, x, baseline, target, alphas):
    """h(alpha_k) = grad F . (x - x') and the score F(gamma(alpha_k)) at each point (numpy float64)."""
    alphas = torch.as_tensor(np.asarray(alphas, dtype=np.float32)).to(x.device)
    h, scores = [], []
    for a in alphas.split(BATCH):
        points = (baseline + a.view(-1, 1, 1, 1) * (x - baseline)).requires_grad_(True)
        score = net(points)[:, target]
        (grads,) = torch.autograd.grad(score.sum(), points)
        h.append((grads * (x - baseline)).flatten(1).sum(1).detach())
        scores.append(score.detach())
    return (torch.cat(h).cpu().numpy().astype(np.float64), torch.cat(scores).cpu().numpy().astype(np.float64))


def cat_path_rows(image_model, rules=CAT_PATH_RULES):
    """The walk-through photo's path from black, for the lesson's fine grid: per rule and step count, each
    node's alpha, weight, h(alpha) and score, for the model's top class on the cat (as the lesson explains it;
    the set's main class of the cat, "tabby", is the model's second)."""
    x = image_model.preprocess("cat")
    top = xh.predict(image_model, x, k=1)[0]
    black = make_baseline(image_model, x, "black")
    rows = []
    for rule, n in rules:
        alphas, weights = quadrature(rule, n)
        h, scores = path_values(image_model.model, x, black, top.index, alphas)
        rows += [{"rule": rule, "steps": n, "node": k, "class": top.label, "alpha": float(f"{a:.9g}"),
                  "weight": float(f"{w:.9g}"), "h": float(f"{v:.7g}"), "score": float(f"{f:.7g}")}
                 for k, (a, w, v, f) in enumerate(zip(alphas, weights, h, scores))]
    return rows


def measure_photo(image_model, item, parts=PARTS, photo_set=None):
    """One row of the table for ``item``; ``photo_set`` (default: xh.data.load_photo_set()) gives the
    expected-gradients baselines, every photo of it except ``item``."""
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
    for rule in ("riemann", "gausslegendre"):
        if "steps200" in parts or f"{rule}_steps200" in parts:
            method = "riemann_right" if rule == "riemann" else rule
            _, attributions = path(net, x, baselines["black"], target, *quadrature(method, DEFAULT_STEPS))
            row[f"error_{rule}_black_{DEFAULT_STEPS}"] = round(abs(float(attributions.sum()) - gaps["black"]) / abs(gaps["black"]), 5)
    for name in ("blur", "white"):
        if name in parts:
            _, attributions = path(net, x, baselines[name], target, *quadrature("gausslegendre", STEPS))
            row[f"gap_{name}"] = round(gaps[name], 5)
            row[f"error_gausslegendre_{name}"] = round(abs(float(attributions.sum()) - gaps[name]) / abs(gaps[name]), 5)
            row[f"mass_{name}"] = round(mass_ratio(attributions, mask), 5)
    if "eg" in parts:
        photo_set = xh.data.load_photo_set() if photo_set is None else photo_set
        others = torch.cat([image_model.preprocess(p.image) for p in photo_set if p.name != item.name])
        row.update(expected_gradient_row(net, x, target, others, mask, float(scores[0])))
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", nargs="+", default=None, help="photo names (default: the set's order)")
    parser.add_argument("--n-photos", type=int, default=None, help="the first N photos of the order (default: all)")
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS + ONE_RULE_PARTS)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cat-path", action="store_true",
                        help=f"write the cat's path points instead ({CAT_PATH_OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    image_model = xh.load_image_model()
    if args.cat_path:
        rows = cat_path_rows(image_model)
        with open(CAT_PATH_OUT, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"{len(rows)} points -> {CAT_PATH_OUT}")
        return
    photo_set = xh.data.load_photo_set()
    photos = photo_order(photo_set)
    photos = [p for p in photos if p.name in args.photos] if args.photos else photos[:args.n_photos]
    write_rows(args.out, photos, lambda item: measure_photo(image_model, item, args.parts, photo_set))


if __name__ == "__main__":
    main()
