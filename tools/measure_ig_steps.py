"""Measure the Integrated Gradients step count that keeps the completeness error under 5 %.

For each course photo (xh.COURSE_IMAGES), the default model's top-1 class and the black baseline,
print |delta| / |F(x) - F(black)| for Gauss-Legendre at several step counts, then the smallest
listed step count that is under the threshold on all photos measured (and at every larger count).
Its result is xai_helpers.integrated.DEFAULT_IG_STEPS.

    python tools/measure_ig_steps.py                         # all photos, full ladder (~30 min, 1 core)
    python tools/measure_ig_steps.py --steps 150 200 300 --photos dog coffee
"""
import argparse
import time

import torch

import xai_helpers as xh
from xai_helpers.integrated import integrated_gradients, output_difference

THRESHOLD = 0.05


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[50, 64, 100, 128, 150, 200, 256, 300])
    parser.add_argument("--photos", nargs="+", default=list(xh.COURSE_IMAGES))
    parser.add_argument("--method", default="gausslegendre")
    args = parser.parse_args()
    torch.set_num_threads(1)
    image_model = xh.load_image_model()
    steps = sorted(args.steps)
    worst = {n: 0.0 for n in steps}
    print(f"{'photo':14s} {'class':24s} " + " ".join(f"{n:>6d}" for n in steps), flush=True)
    for name in args.photos:
        x = image_model.preprocess(name)
        (index, label, _), = xh.predict(image_model, x, k=1)
        gap = output_difference(image_model, x, index, "black")
        row = []
        for n in steps:
            _, delta = integrated_gradients(image_model, x, index, "black", n_steps=n, method=args.method)
            row.append(abs(delta) / abs(gap))
            worst[n] = max(worst[n], row[-1])
        print(f"{name:14s} {label[:24]:24s} " + " ".join(f"{e:6.1%}" for e in row), flush=True)
    print(f"{'worst':39s} " + " ".join(f"{worst[n]:6.1%}" for n in steps))
    ok = [n for n in steps if all(worst[m] < THRESHOLD for m in steps if m >= n)]
    print(f"smallest step count under {THRESHOLD:.0%} on every photo ({args.method}): {ok[0] if ok else None}")


if __name__ == "__main__":
    start = time.time()
    main()
    print(f"{time.time() - start:.0f} s")
