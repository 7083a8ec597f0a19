"""Set-wide numbers of lesson 4.1 (saliency maps): SmoothGrad's leftover noise, roughness, mass in the box.

For every evaluation photo (xh.data.load_photo_set) and its main class, with the default image model:

* vanilla gradient and Gradient x Input (one pass);
* SmoothGrad at noise level 15 %: two independent streams of 16 noisy copies (seeds 0 and 1, exactly
  ``xh.smoothgrad(..., seed=s)`` for every n <= 16). From each pair at n = 4, 8, 16: the share of the
  signed map's energy that is leftover noise, ||a - b||^2 / 2 / mean(||a||^2, ||b||^2), and the overlap
  (intersection / union) of the two maps' top 10 % of 8x8 blocks. From all 32 copies: the noise-to-signal
  ratio r = (summed per-pixel variance of one copy) / ||mean||^2 (unbiased), so the noise share at n copies is
  r / (n + r), and the n for a share s is r (1 - s) / s;
* SmoothGrad at noise levels 5 % and 30 % with n = 16 (seed 0);
* roughness (mean |jump| between neighbours / mean |value| of the max-|.| map, divided by the same for the
  values shuffled at random: 100 % = static) of every map, and of the 15 % map at n = 16 and 32 (both streams);
* mass in the box: the share of |map| (max |.| over channels; CAMs upsampled) inside the main class's box,
  divided by the box's share of the image (1 = no better than spreading evenly), for vanilla, Gradient x
  Input, SmoothGrad 15 % (n = 32), Grad-CAM and Grad-CAM++.

One row per photo goes to data/measured/4_1_saliency.csv (the lesson reads it;
tests/integration/test_measured_4_1_4_3.py recomputes a random subset and compares).

With ``--large-n`` the tool instead measures SmoothGrad at 15 % at larger sample counts, towards the several
hundred this model needs: two more independent streams of 128 noisy copies (seeds 2 and 3). From the pair at
n = 128: the noise share and the top-block overlap as above; roughness of the 128- and the 256-copy map; mass
in the box of the 256-copy map. One row per photo to data/measured/4_1_smoothgrad_large_n.csv.

    python tools/measure_4_1.py                        # all photos (~10 s per photo on 2 idle cores)
    python tools/measure_4_1.py --large-n              # all photos, 256 copies each (~1 min per photo)
    python tools/measure_4_1.py --photos cat dog --out /tmp/check.csv
"""
import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT))   # an explicit PYTHONPATH comes first
sys.path.append(str(ROOT / "tools"))   # measured_tables, also when a test loads this file by path

import xai_helpers as xh  # noqa: E402
from measured_tables import write_rows  # noqa: E402  (tools/measured_tables.py)

OUT = ROOT / "data" / "measured" / "4_1_saliency.csv"
OUT_LARGE = ROOT / "data" / "measured" / "4_1_smoothgrad_large_n.csv"
LARGE_STREAM = 128   # copies per seed with --large-n
PAIR_STEPS = (4, 8, 16)
STREAM = 16          # copies per seed
BATCH = 16
PARTS = ("pairs", "levels")   # measure_photo's column groups beyond the one-pass maps (the test's rotation)


def max_abs(m):
    return m.abs().amax(dim=1)[0] if m.dim() == 4 else m


def roughness(m):
    jumps = torch.cat([(m[1:] - m[:-1]).flatten(), (m[:, 1:] - m[:, :-1]).flatten()])
    return float(jumps.abs().mean() / m.abs().mean())


def speckle(attribution, seed=0):
    """Roughness of the max-|.| map relative to the same values shuffled at random (1 = static)."""
    m = max_abs(attribution)
    order = torch.randperm(m.numel(), generator=torch.Generator().manual_seed(seed)).to(m.device)
    return roughness(m) / roughness(m.flatten()[order].view_as(m))


def top_blocks(attribution, share=0.1, block=8):
    blocks = torch.nn.functional.avg_pool2d(max_abs(attribution)[None], block)[0]
    return blocks >= torch.quantile(blocks.flatten(), 1 - share)


def box_mask(box, size=224):
    x0, y0, x1, y1 = box
    mask = torch.zeros(size, size, dtype=torch.bool)
    mask[y0:y1 + 1, x0:x1 + 1] = True
    return mask


def mass_ratio(m, mask):
    """Share of |m| inside the mask / the mask's share of the image."""
    m = m.abs()
    return float(m[mask].sum() / m.sum()) / float(mask.float().mean())


def noisy_gradients(image_model, x, target, level, n, seed):
    """The input gradients of n noisy copies, drawn like xh.smoothgrad(..., seed=seed) (n x C x H x W)."""
    sigma = xh.methods.noise_sigma(x, level)
    generator = torch.Generator().manual_seed(seed)
    grads = []
    for start in range(0, n, BATCH):
        k = min(BATCH, n - start)
        noise = torch.randn((k, *x.shape[1:]), generator=generator).to(x.device) * sigma
        points = (x.detach() + noise).requires_grad_(True)
        (grad,) = torch.autograd.grad(image_model.model(points)[:, target].sum(), points)
        grads.append(grad)
    return torch.cat(grads)


def measure_photo(image_model, item, parts=PARTS):
    """One row of the table (every column: ``parts`` = ``PARTS``). ``parts`` can limit it to one group: "pairs"
    (the two 15 % streams, 32 passes: noise shares, top overlaps, noise-to-signal, the 15 % maps' speckle and
    mass) or "levels" (the 5 % and 30 % maps, 32 passes: their speckle); the one-pass maps' columns (vanilla,
    Gradient x Input, Grad-CAM, Grad-CAM++) are always there."""
    x = image_model.preprocess(item.image)
    target, cls = item.indices[0], item.classes[0]
    mask = box_mask(item.boxes[cls])
    row = {"photo": item.name, "class": cls, "box_share": round(float(mask.float().mean()), 4)}
    grad = xh.vanilla_gradients(image_model, x, target)
    gxi = x * grad
    level_maps, mass_maps = {"vanilla": grad}, {"vanilla": max_abs(grad), "gxi": max_abs(gxi)}
    if "pairs" in parts:
        a_all = noisy_gradients(image_model, x, target, 0.15, STREAM, seed=0)
        b_all = noisy_gradients(image_model, x, target, 0.15, STREAM, seed=1)
        for n in PAIR_STEPS:
            a, b = a_all[:n].mean(0, keepdim=True), b_all[:n].mean(0, keepdim=True)
            energy = (a.pow(2).sum() + b.pow(2).sum()) / 2
            row[f"noise_share_{n}"] = round(float((a - b).pow(2).sum() / 2 / energy), 5)
            ta, tb = top_blocks(a), top_blocks(b)
            row[f"top_overlap_{n}"] = round(float((ta & tb).sum() / (ta | tb).sum()), 5)
        draws = torch.cat([a_all, b_all])
        mean = draws.mean(0, keepdim=True)
        variance = float(draws.var(0, unbiased=True).sum())
        signal = float(mean.pow(2).sum()) - variance / len(draws)
        row["noise_to_signal"] = round(variance / signal, 3) if signal > 0 else float("inf")
        level_maps.update(sg15_16=a_all.mean(0, keepdim=True), sg15_32=mean)
        mass_maps["sg15_32"] = max_abs(mean)
    if "levels" in parts:
        for level in (5, 30):
            level_maps[f"sg{level:02d}_16"] = xh.smoothgrad(image_model, x, target, n_samples=16,
                                                            noise_level=level / 100, seed=0)
    for name in ("vanilla", "sg05_16", "sg15_16", "sg15_32", "sg30_16"):   # the table's column order
        if name in level_maps:
            row[f"speckle_{name}"] = round(speckle(level_maps[name]), 5)
    cams = {"gradcam": xh.grad_cam(image_model, x, target), "gradcampp": xh.grad_cam_plus_plus(image_model, x, target)}
    for name, m in {**mass_maps, **cams}.items():
        row[f"mass_{name}"] = round(mass_ratio(m.reshape(224, 224).cpu(), mask), 5)
    return row


def measure_photo_large_n(image_model, item, stream=LARGE_STREAM):
    """SmoothGrad at 15 % with two streams of ``stream`` copies (seeds 2 and 3): the pair and the pooled map."""
    x = image_model.preprocess(item.image)
    target, cls = item.indices[0], item.classes[0]
    mask = box_mask(item.boxes[cls])
    row = {"photo": item.name, "class": cls, "box_share": round(float(mask.float().mean()), 4)}
    a = noisy_gradients(image_model, x, target, 0.15, stream, seed=2).mean(0, keepdim=True)
    b = noisy_gradients(image_model, x, target, 0.15, stream, seed=3).mean(0, keepdim=True)
    energy = (a.pow(2).sum() + b.pow(2).sum()) / 2
    row[f"noise_share_{stream}"] = round(float((a - b).pow(2).sum() / 2 / energy), 5)
    ta, tb = top_blocks(a), top_blocks(b)
    row[f"top_overlap_{stream}"] = round(float((ta & tb).sum() / (ta | tb).sum()), 5)
    pooled = (a + b) / 2
    row[f"speckle_sg15_{stream}"] = round(speckle(a), 5)
    row[f"speckle_sg15_{2 * stream}"] = round(speckle(pooled), 5)
    row[f"mass_sg15_{2 * stream}"] = round(mass_ratio(max_abs(pooled).reshape(224, 224).cpu(), mask), 5)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", nargs="+", default=None, help="photo names (default: the whole set)")
    parser.add_argument("--large-n", action="store_true", help=f"2 x {LARGE_STREAM} copies per photo instead")
    parser.add_argument("--out", type=Path, default=None, help="default: the shipped table")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = args.out or (OUT_LARGE if args.large_n else OUT)
    measure = measure_photo_large_n if args.large_n else measure_photo
    image_model = xh.load_image_model()
    photos = [p for p in xh.data.load_photo_set() if args.photos is None or p.name in args.photos]
    write_rows(out, photos, lambda item: measure(image_model, item))


if __name__ == "__main__":
    main()
