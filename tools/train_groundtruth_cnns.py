"""Train the ground-truth CNNs of section 4.5 and Problem 6 and write xai_helpers/assets/groundtruth/*.safetensors.

Five small CNNs (``xai_helpers.groundtruth.DigitCNN``) on the cluttered-digit scenes: the clean one, three
with the class-dependent mark on 50 %, 90 % and 100 % of their training scenes, and Problem 6's model.
Reproducible: every seed is fixed and torch uses one thread, so a rerun writes the same weights bit for
bit (``--verify`` retrains into a temporary folder and compares tensor by tensor with the shipped files).
Under a minute of one CPU core per model. Usage, from the repository root:

    python tools/train_groundtruth_cnns.py                  # writes the packaged checkpoints
    python tools/train_groundtruth_cnns.py --verify         # rebuild and compare with the shipped files
    python tools/train_groundtruth_cnns.py --measure-ig     # IG completeness error vs steps, shipped models
    python tools/train_groundtruth_cnns.py --out /tmp/gt --epochs 2 --only clean
"""
import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from xai_helpers import groundtruth as gt  # noqa: E402


def jobs(only):
    """(file name, strength, mark, seed) for every model asked for."""
    every = {("clean" if s == 0 else f"{round(s * 100)}"): (gt._file_name(s), s, gt.LESSON_MARK, 0) for s in gt.STRENGTHS}
    every["case"] = (gt.CASE_FILE, gt.CASE_STRENGTH, gt._case_mark(), gt.CASE_TRAIN_SEED)
    names = list(every) if not only else [n.strip() for n in only.split(",")]
    unknown = [n for n in names if n not in every]
    if unknown:
        raise SystemExit(f"unknown model(s) {unknown}; choose from {list(every)}")
    return [every[n] for n in names]


def train(out, only, epochs):
    out.mkdir(parents=True, exist_ok=True)
    for file_name, strength, mark, seed in jobs(only):
        model, info = gt.train_digit_cnn(strength, mark=mark, seed=seed, epochs=epochs)
        if file_name == gt.CASE_FILE:
            info = {k: v for k, v in info.items() if k != "strength"}   # Problem 6: nothing about the shortcut
        path = gt.save_digit_cnn(model, info, out / file_name)
        print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB): clean test accuracy {info['clean_test_accuracy']:.3f}, "
              f"{info['train_seconds']:.0f} s wall, {info['cpu_seconds']:.0f} s CPU", flush=True)


def verify(only):
    from safetensors.torch import load_file
    with tempfile.TemporaryDirectory() as tmp:
        train(Path(tmp), only, None)
        same = True
        for file_name, *_ in jobs(only):
            new, old = load_file(str(Path(tmp) / file_name)), load_file(str(gt.ASSET_DIR / file_name))
            equal = new.keys() == old.keys() and all(torch.equal(new[k], old[k]) for k in new)
            same &= equal
            print(f"{file_name}: {'identical' if equal else 'DIFFERENT'} to the shipped checkpoint")
    if not same:
        raise SystemExit("Rebuilt weights differ. Same torch version and one thread? (CPU kernels may round "
                         "differently on another CPU or torch build.)")


def measure_ig():
    scenes = gt.make_scenes(200, marks="own")
    for strength in gt.STRENGTHS:
        table = gt.ig_completeness(gt.load_digit_cnn(strength), scenes)
        print(f"--- strength {strength:g}: IG relative completeness error |delta| / |F(x) - F(x')| over "
              f"{len(scenes)} scenes\n{table.round(4).to_string(index=False)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(gt.ASSET_DIR), help="folder for the safetensors files")
    parser.add_argument("--only", default="", help="comma-separated subset of: clean,50,90,100,case")
    parser.add_argument("--epochs", type=int, default=None, help="default: TRAIN_SETTINGS['epochs']")
    parser.add_argument("--verify", action="store_true", help="retrain and compare with the shipped files")
    parser.add_argument("--measure-ig", action="store_true", help="IG completeness error vs steps")
    args = parser.parse_args()
    start = time.perf_counter()
    if args.measure_ig:
        measure_ig()
    elif args.verify:
        verify(args.only)
    else:
        train(Path(args.out), args.only, args.epochs)
    print(f"done in {time.perf_counter() - start:.0f} s wall; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")


if __name__ == "__main__":
    main()
