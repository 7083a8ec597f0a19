"""Train the ground-truth CNNs of section 4.5 and Problem 6 and write xai_helpers/assets/groundtruth/*.safetensors.

Small CNNs (``xai_helpers.groundtruth.DigitCNN``) on the cluttered-digit scenes: the clean one and three with
the class-dependent mark on 50 %, 90 % and 100 % of their training scenes, each with the training seeds
``TRAINING_SEEDS`` (0 is the lesson's), and Problem 6's model.
The training code lives here, not in the package: ``xai_helpers.groundtruth`` holds the model class, the
scenes and the scores, and reads the checkpoints (a missing one is an error naming this command).

Reproducible: every seed is fixed (initialisation, scene rendering, which scenes carry the mark, batch
order) and torch uses one thread, so a rerun writes the same weights bit for bit; ``--verify`` retrains
into a temporary folder and compares tensor by tensor with the shipped files. About 15 s of one CPU core
per model (20 epochs of 1,257 freshly rendered scenes). Usage, from the repository root:

    python tools/train_groundtruth_cnns.py                  # writes the packaged checkpoints
    python tools/train_groundtruth_cnns.py --verify         # rebuild and compare with the shipped files
    python tools/train_groundtruth_cnns.py --measure-ig     # IG completeness error vs steps, shipped models
    python tools/train_groundtruth_cnns.py --table          # the seed table: every shipped CNN and 20
                                                            # random-weights CNNs scored on 200 scenes
    python tools/train_groundtruth_cnns.py --out /tmp/gt --epochs 2 --only clean
"""
import argparse
import json
import math
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from training_steps import log_epoch, optimiser_step  # noqa: E402  (tools/training_steps.py)
from xai_helpers.evaluation import groundtruth as gt  # noqa: E402
from xai_helpers.digits import make_cluttered_digits  # noqa: E402

TRAIN_SETTINGS = dict(seed=0, epochs=20, batch_size=64, lr=0.01, weight_decay=1e-4)


def train_digit_cnn(strength=0.0, mark=None, seed=0, epochs=None, n_train=None, threads=1, log=print):
    """Train a ``DigitCNN`` on freshly rendered training scenes, a share ``strength`` of them with the mark
    of their class -> ``(model, info)``.

    Every seed is fixed; with one thread (the default) a rerun gives the same weights bit for bit. The
    caller's random state and thread count are restored. ``n_train`` keeps the first n training digits (for
    quick tests). ``info``: settings, clean test accuracy, training time (wall and CPU seconds).
    """
    if not isinstance(strength, (int, float)) or isinstance(strength, bool) or not 0 <= strength <= 1:
        raise ValueError(f"strength is the share of training scenes with the mark, a number in [0, 1]; "
                         f"got {strength!r}.")
    mark = gt.LESSON_MARK if mark is None else mark
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        with torch.random.fork_rng(devices=[]):
            return _train(float(strength), mark, seed, epochs, n_train, log)
    finally:
        torch.set_num_threads(previous)


def _epoch_data(settings, epoch, n_train, strength, mark, generator):
    """One epoch's scenes: the training digits rendered anew, a share ``strength`` with their class's mark."""
    data = make_cluttered_digits("train", seed=settings["seed"] * 1000 + 1 + epoch, n=n_train)
    n = len(data)
    marked = torch.randperm(n, generator=generator)[:round(strength * n)]
    classes = torch.full((n,), -1, dtype=torch.long)
    classes[marked] = data.labels[marked]
    return gt.add_mark(data.images, mark, classes, seed=settings["seed"] * 1000 + 500 + epoch), data.labels


def _train(strength, mark, seed, epochs, n_train, log):
    settings = dict(TRAIN_SETTINGS, seed=seed, **({"epochs": epochs} if epochs else {}))
    torch.manual_seed(settings["seed"])
    model = gt.DigitCNN(**gt.CNN_CONFIG)
    g = torch.Generator().manual_seed(settings["seed"] + 1)
    n = len(make_cluttered_digits("train", n=n_train).labels)
    bs = settings["batch_size"]
    opt = torch.optim.AdamW(model.parameters(), lr=settings["lr"], weight_decay=settings["weight_decay"])
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=settings["lr"],
                                                   total_steps=settings["epochs"] * math.ceil(n / bs))
    start, cpu_start = time.perf_counter(), time.process_time()
    for epoch in range(settings["epochs"]):
        images, labels = _epoch_data(settings, epoch, n_train, strength, mark, g)
        order = torch.randperm(n, generator=g)
        model.train()
        for b in range(0, n, bs):
            idx = order[b:b + bs]
            loss = F.cross_entropy(model(images[idx]), labels[idx])
            optimiser_step(loss, opt, schedule)
        log_epoch(log, epoch, settings["epochs"], loss, start)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    model.eval()
    test = gt.make_scenes(n=200)
    acc = float((gt.predict_classes(model, test.images) == test.labels).float().mean())
    info = dict(settings=settings, config=dict(gt.CNN_CONFIG, channels=list(gt.CNN_CONFIG["channels"])),
                strength=strength, n_train=n, clean_test_accuracy=round(acc, 4), train_seconds=round(seconds, 1),
                cpu_seconds=round(cpu_seconds, 1), threads=torch.get_num_threads(), torch=torch.__version__,
                data="sklearn load_digits train split, 16x16 digits on 48x48 clutter (xai_helpers.vit), re-rendered "
                     "every epoch")
    if log:
        log(f"clean test accuracy {acc:.3f}; {seconds:.0f} s ({cpu_seconds:.0f} s CPU)")
    return model, info


def save_digit_cnn(model, info, path):
    """Write the weights as safetensors with ``info`` as JSON metadata (readable by everyone: mode 644)."""
    from safetensors.torch import save_file
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={"info": json.dumps(info)})
    path.chmod(0o644)
    return path


def _job_name(strength, seed):
    name = "clean" if strength == 0 else f"{round(strength * 100)}"
    return name + (f"/seed{seed}" if seed else "")


def jobs(only):
    """(name, file name, strength, mark, seed) for every model asked for: each strength with each training seed
    (names "clean", "50", "90", "100"; "90/seed2" for another seed), and "case"."""
    every = {_job_name(s, seed): (gt._file_name(s, seed), s, gt.LESSON_MARK, seed)
             for seed in gt.TRAINING_SEEDS for s in gt.STRENGTHS}
    every["case"] = (gt.CASE_FILE, gt.CASE_STRENGTH, gt._case_setup(), gt.CASE_TRAIN_SEED)
    names = list(every) if not only else [n.strip() for n in only.split(",")]
    unknown = [n for n in names if n not in every]
    if unknown:
        raise SystemExit(f"unknown model(s) {unknown}; choose from {list(every)}")
    return [(name, *every[name]) for name in names]


def train(out, only, epochs):
    out.mkdir(parents=True, exist_ok=True)
    for name, file_name, strength, mark, seed in jobs(only):
        log = (lambda text: print(f"{name}: {text}", flush=True)) if name != "case" else None
        model, info = train_digit_cnn(strength, mark=mark, seed=seed, epochs=epochs, log=log)
        if name == "case":
            info = {k: v for k, v in info.items() if k != "strength"}   # Problem 6: nothing about what it learned
        path = save_digit_cnn(model, info, out / file_name)
        print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB): clean test accuracy "
              f"{info['clean_test_accuracy']:.3f}, {info['train_seconds']:.0f} s wall, {info['cpu_seconds']:.0f} s CPU",
              flush=True)


def verify(only):
    from safetensors.torch import load_file
    with tempfile.TemporaryDirectory() as tmp:
        train(Path(tmp), only, None)
        same = True
        for _, file_name, *_ in jobs(only):
            new, old = load_file(str(Path(tmp) / file_name)), load_file(str(gt.GROUNDTRUTH_DIR / file_name))
            equal = new.keys() == old.keys() and all(torch.equal(new[k], old[k]) for k in new)
            same &= equal
            print(f"{file_name}: {'identical' if equal else 'DIFFERENT'} to the shipped checkpoint")
    if not same:
        raise SystemExit("Rebuilt weights differ. Same torch version and one thread? (CPU kernels may round "
                         "differently on another CPU or torch build.)")


def measure_ig(grid=(8, 10, 12, 16, 32)):
    """Gauss-Legendre steps for IG completeness error <= 5 % on every one of 200 scenes, every shipped CNN and
    both baselines: bench/ig.py ``search_steps`` (the one IG step search), measuring the whole ladder."""
    from bench.ig import IG_ERROR, search_steps
    scenes = gt.make_scenes(200, marks="own")
    models = {s: gt.load_digit_cnn(s) for s in gt.STRENGTHS}

    def worst_error(item, n):
        strength, kind = item
        r = gt.attribution_maps(models[strength], scenes.images, scenes.labels,
                                methods=(f"integrated_gradients_{kind}",), n_steps=n)
        return r.ig_error[kind].max().item()
    items = [(s, kind) for s in gt.STRENGTHS for kind in ("black", "blur")]
    need, errors = search_steps(worst_error, items, grid, full=True)
    for (strength, kind), tried in errors.items():
        print(f"strength {strength:g}, {kind:5s}: worst error over {len(scenes)} scenes "
              + "  ".join(f"{n}: {e:.2%}" for n, e in tried.items()))
    print(f"steps needed for <= {IG_ERROR:.0%} everywhere: {need} (the package uses IG_STEPS = {gt.IG_STEPS})")


def map_seed(kind, strength, seed):
    """The seed of a model's random map and SmoothGrad noise in the seed table: 1000 apart for every model, so
    each model's controls are drawn anew (scene i of a call with seed s uses s + i)."""
    if kind == "trained":
        return 1000 * (1 + len(gt.STRENGTHS) * seed + gt.STRENGTHS.index(strength))
    return 1000 * (100 + seed)


def seed_rows(kind, strength, seed, model, scenes, sets):
    """One row per scored method: the model's ``score_maps`` on ``scenes`` (and, for a trained CNN, its
    accuracies on ``sets``), keyed by kind, strength and seed."""
    table = gt.score_maps(gt.attribution_maps(model, scenes.images, scenes.labels,
                                              seed=map_seed(kind, strength, seed)), scenes)
    accuracy = gt.accuracy_table({"m": model}, sets=sets).loc["m"] if kind == "trained" else {}
    return [dict(kind=kind, strength=strength, seed=seed, method=method, **row.to_dict(), **dict(accuracy))
            for method, row in table.iterrows()]


def write_seed_table(path=None, n_random=gt.SEED_TABLE_RANDOM_CNNS):
    """Score every shipped CNN (each strength, each training seed) and ``n_random`` random-weights CNNs on the
    seed table's scenes; write the CSV the lesson reads with ``groundtruth.seed_table()``."""
    import pandas as pd
    path = Path(path or gt.GROUNDTRUTH_DIR / gt.SEED_TABLE_FILE)
    scenes = gt.make_scenes(gt.SEED_TABLE_SCENES, marks="own")
    sets = {kind: gt.make_scenes(gt.SEED_TABLE_SCENES, marks=kind) for kind in ("none", "own", "other")}
    rows = []
    with torch.random.fork_rng(devices=[]):
        torch.set_num_threads(1)
        for seed in gt.TRAINING_SEEDS:
            for strength in gt.STRENGTHS:
                clock = time.perf_counter()
                rows += seed_rows("trained", strength, seed, gt.load_digit_cnn(strength, seed), scenes, sets)
                print(f"trained, strength {strength:g}, seed {seed}: {time.perf_counter() - clock:.0f} s", flush=True)
        for seed in range(n_random):
            rows += seed_rows("random weights", float("nan"), seed, gt.random_digit_cnn(seed), scenes, sets)
            print(f"random weights, seed {seed}", flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(path, index=False, float_format="%.6g")
    path.chmod(0o644)
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB, {len(table)} rows)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(gt.GROUNDTRUTH_DIR), help="folder for the safetensors files")
    parser.add_argument("--only", default="", help="comma-separated subset of: clean,50,90,100,case, and "
                                                   "e.g. 90/seed1 for the other training seeds")
    parser.add_argument("--epochs", type=int, default=None, help="default: TRAIN_SETTINGS['epochs']")
    parser.add_argument("--verify", action="store_true", help="retrain and compare with the shipped files")
    parser.add_argument("--measure-ig", action="store_true", help="IG completeness error vs steps")
    parser.add_argument("--table", action="store_true", help="write the seed table (scores of every shipped CNN "
                                                             "and of random-weights CNNs)")
    args = parser.parse_args()
    start = time.perf_counter()
    if args.measure_ig:
        measure_ig()
    elif args.table:
        write_seed_table()
    elif args.verify:
        verify(args.only)
    else:
        train(Path(args.out), args.only, args.epochs)
    print(f"done in {time.perf_counter() - start:.0f} s wall; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")


if __name__ == "__main__":
    main()
