"""The Integrated Gradients step count that keeps the completeness error within 5 %: the full error ladder.

For each course photo (xh.data.COURSE_IMAGES), the default model's top-1 class and the black baseline, print
|delta| / |F(x) - F(black)| at every listed step count, then the answer of the benchmark's step search
(bench/ig.py ``search_steps``, the one implementation of it, with ``full=True``: every count measured):
the smallest listed count from which every measured error on every photo is within 5 %.
Its result is xai_helpers.integrated.DEFAULT_IG_STEPS; `make bench` runs the same search, stopping early.

    python tools/measure_ig_steps.py                         # all photos, full ladder (~30 min, 1 core)
    python tools/measure_ig_steps.py --steps 150 200 300 --photos dog coffee
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ig import IG_ERROR, completeness_error, search_steps  # noqa: E402


def main(argv=None):
    import torch
    import xai_helpers as xh
    from xai_helpers.methods.integrated import DEFAULT_IG_BATCH
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[50, 64, 100, 128, 150, 200, 256, 300])
    parser.add_argument("--photos", nargs="+", default=list(xh.data.COURSE_IMAGES))
    parser.add_argument("--method", default="gausslegendre")
    parser.add_argument("--batch", type=int, default=DEFAULT_IG_BATCH, help="internal_batch_size")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    image_model = xh.load_image_model()
    error_at, targets = completeness_error(image_model, args.method, args.batch)
    steps = sorted(args.steps)
    print(f"{'photo':14s} {'class':24s} " + " ".join(f"{n:>6d}" for n in steps), flush=True)

    def error_and_print(photo, n):   # prints each photo's row as soon as it is complete
        e = error_at(photo, n)
        row.setdefault(photo, []).append(e)
        if n == steps[-1]:
            label = image_model.labels[targets[photo]]
            print(f"{photo:14s} {label[:24]:24s} " + " ".join(f"{v:6.1%}" for v in row[photo]), flush=True)
        return e
    row = {}
    need, errors = search_steps(error_and_print, args.photos, steps, full=True)
    worst = [max(errors[p][n] for p in errors) for n in steps]
    print(f"{'worst':39s} " + " ".join(f"{w:6.1%}" for w in worst))
    print(f"smallest step count from which every photo is within {IG_ERROR:.0%} ({args.method}): "
          f"{need if need > 0 else None}")


if __name__ == "__main__":
    start = time.time()
    main()
    print(f"{time.time() - start:.0f} s")
