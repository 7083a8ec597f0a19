"""Train the course's tiny ViT on cluttered digits and write xai_helpers/assets/vit/tiny_vit_digits.safetensors.

The training code lives here, not in the package: ``xai_helpers.vit`` only holds the model class and
reads the checkpoint (a missing checkpoint is an error naming this command; nothing trains on first use).

Reproducible: every seed is fixed (model init, digit split, scene rendering, batch order) and torch
uses one thread, so a rerun gives the same weights bit for bit. About 2 minutes of one CPU core. Usage:

    python tools/train_tiny_vit.py                 # writes the packaged checkpoint
    python tools/train_tiny_vit.py --out /tmp/x.safetensors --epochs 5
    python tools/train_tiny_vit.py --out /tmp/x.safetensors --check   # same tensors as the shipped file?
"""
import argparse
import hashlib
import json
import math
import resource
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from training_steps import log_epoch, optimiser_step  # noqa: E402  (tools/training_steps.py)
from xai_helpers.digits import _digits_split, _render, make_cluttered_digits
from xai_helpers.models.vit import CHECKPOINT, TINY_CONFIG, TinyViT, accuracy

TRAIN_SETTINGS = dict(seed=0, epochs=60, batch_size=64, lr=1.5e-3, weight_decay=0.1, warmup_epochs=3)


def _set_threads(threads):
    if threads:
        torch.set_num_threads(int(threads))


def train_tiny_vit(seed=0, epochs=None, batch_size=None, lr=None, threads=1, log=print):
    """Train ``TinyViT`` on freshly rendered cluttered digits each epoch (all seeds fixed).

    Returns ``(model, info)``; ``info`` holds the settings, the test accuracy and the training time
    (wall and CPU seconds). With one thread (the default) the result is the same bit for bit on every
    run; about 2 minutes of one CPU core for the default 60 epochs.
    """
    previous_threads = torch.get_num_threads()
    _set_threads(threads)
    try:
        with torch.random.fork_rng(devices=[]):  # seeded inside; the caller's random state is untouched
            return _train(seed, epochs, batch_size, lr, log)
    finally:
        torch.set_num_threads(previous_threads)


def _train(seed, epochs, batch_size, lr, log):
    settings = dict(TRAIN_SETTINGS, seed=seed)
    settings.update({k: v for k, v in dict(epochs=epochs, batch_size=batch_size, lr=lr).items() if v is not None})
    torch.manual_seed(settings["seed"])
    model = TinyViT(**TINY_CONFIG)
    images, labels, index = _digits_split()
    train_idx = index["train"]
    g = torch.Generator().manual_seed(settings["seed"] + 1)
    opt = torch.optim.AdamW(model.parameters(), lr=settings["lr"], weight_decay=settings["weight_decay"])
    steps_per_epoch = math.ceil(len(train_idx) / settings["batch_size"])
    total, warmup = settings["epochs"] * steps_per_epoch, settings["warmup_epochs"] * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) *
                                                 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    start, cpu_start = time.perf_counter(), time.process_time()
    for epoch in range(settings["epochs"]):
        model.train()
        order = train_idx[torch.randperm(len(train_idx), generator=g)]
        x_all, _ = _render(images[order], g)          # a new rendering of every training digit each epoch
        y_all = labels[order]
        for b in range(0, len(order), settings["batch_size"]):
            x, y = x_all[b:b + settings["batch_size"]], y_all[b:b + settings["batch_size"]]
            loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
            optimiser_step(loss, opt, schedule)
        log_epoch(log, epoch, settings["epochs"], loss, start)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    model.eval()
    test = make_cluttered_digits("test")
    acc = accuracy(model, test.images, test.labels)
    info = dict(settings=settings, config=TINY_CONFIG, test_accuracy=round(acc, 4), train_seconds=round(seconds, 1),
                cpu_seconds=round(cpu_seconds, 1),
                threads=torch.get_num_threads(), torch=torch.__version__,
                data="sklearn load_digits, 70/30 stratified split (random_state=0), 16x16 on 48x48 clutter")
    if log:
        log(f"test accuracy {acc:.3f} on {len(test)} held-out digits; trained in {seconds:.0f} s "
            f"({cpu_seconds:.0f} s CPU)")
    return model, info


def save_tiny_vit(model, info, path=CHECKPOINT):
    """Write the weights as safetensors, with ``info`` (settings, accuracy) as JSON metadata."""
    from safetensors.torch import save_file
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={"info": json.dumps(info)})
    return path


def tensor_digest(path):
    """SHA-256 over the checkpoint's tensors (names, dtypes, shapes, bytes), ignoring the metadata,
    which holds the training time."""
    from safetensors.torch import load_file
    digest = hashlib.sha256()
    for name, tensor in sorted(load_file(str(path)).items()):
        digest.update(f"{name}{tensor.dtype}{tuple(tensor.shape)}".encode())
        digest.update(tensor.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(CHECKPOINT), help="where to write the safetensors file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="default: TRAIN_SETTINGS['epochs']")
    parser.add_argument("--threads", type=int, default=1, help="1 = bit-reproducible (default)")
    parser.add_argument("--check", action="store_true",
                        help="compare the written tensors with the shipped checkpoint; exit 1 if they differ")
    args = parser.parse_args()
    start = time.perf_counter()
    model, info = train_tiny_vit(seed=args.seed, epochs=args.epochs, threads=args.threads)
    path = save_tiny_vit(model, info, args.out)
    print(json.dumps(info, indent=1))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - start:.0f} s wall, "
          f"{info['cpu_seconds']:.0f} s CPU; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")
    digest = tensor_digest(path)
    print(f"tensor sha256 {digest}")
    if args.check:
        shipped = tensor_digest(CHECKPOINT)
        print(f"shipped       {shipped}: {'identical' if digest == shipped else 'DIFFERENT'}")
        sys.exit(0 if digest == shipped else 1)


if __name__ == "__main__":
    main()
