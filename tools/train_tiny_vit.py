"""Train the course's tiny ViT on cluttered digits and write xai_helpers/assets/vit/tiny_vit_digits.safetensors.

Reproducible: every seed is fixed (model init, digit split, scene rendering, batch order) and torch
uses one thread, so a rerun gives the same weights bit for bit. About 2 minutes of one CPU core. Usage:

    python tools/train_tiny_vit.py                 # writes the packaged checkpoint
    python tools/train_tiny_vit.py --out /tmp/x.safetensors --epochs 5
"""
import argparse
import json
import resource
import time

from xai_helpers.vit import CHECKPOINT, save_tiny_vit, train_tiny_vit


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(CHECKPOINT), help="where to write the safetensors file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="default: TRAIN_SETTINGS['epochs']")
    parser.add_argument("--threads", type=int, default=1, help="1 = bit-reproducible (default)")
    args = parser.parse_args()
    start = time.perf_counter()
    model, info = train_tiny_vit(seed=args.seed, epochs=args.epochs, threads=args.threads)
    path = save_tiny_vit(model, info, args.out)
    print(json.dumps(info, indent=1))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - start:.0f} s wall, "
          f"{info['cpu_seconds']:.0f} s CPU; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")


if __name__ == "__main__":
    main()
