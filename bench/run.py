"""Performance benchmark of the course's attribution helpers (issue #7).  Run:  make bench
(or  python bench/run.py [--repeats 3] [--quick] [--only smoothgrad,ig,cam,notebooks] [--device cpu]).

Measures in one run, on the course's default image model (EfficientNet-Lite0, its shipped weights) and
on a torchvision ResNet-50 with random weights (no download):

1. SmoothGrad, n = 50: ``xai_helpers.smoothgrad`` (frozen parameters, gradient w.r.t. the input only,
   chunks of c noisy copies, c swept over --chunks) vs the source text's per-sample loop (section 4.1
   ``smooth_grad``, re-implemented below: a deep copy with trainable parameters, one sample at a time,
   ``model.zero_grad()`` + ``.backward()``) vs Captum ``NoiseTunnel(Saliency)`` (its defaults, all
   samples in one batch). All three draw the same seeded noise; their maps are compared in the same
   run and no time is reported for a model whose maps differ. Every variant runs in a fresh process
   (peak RSS = that process's ``ru_maxrss``); variants are interleaved round by round so that
   machine load hits all of them alike, and ratios are taken per round (paired). Before its timed run
   each variant warms up, with another seed, on exactly the tensor shapes it will time (loop: one
   sample; chunks of c: one full chunk plus the remainder; NoiseTunnel: all n), so that first-use costs
   of a shape (oneDNN primitives, allocator growth) fall outside every timed region alike.
   Informational, not a goal and not eligible for the chunk pick: ``helper-cl:C`` (--cl-chunks), the
   helper's algorithm with each noisy batch made ``channels_last``, to show how far a layout change
   alone goes, and ``helper-clfold:C``, the same on a copy with BatchNorm folded into the convolutions
   (torch.fx ``fuse``, made before the timing); their maps differ by float rounding (ReLU gates can
   flip), so they are not required to agree.
2. Integrated Gradients: the steps each quadrature rule needs for a completeness error <= 5 % on the
   course photos (top-1 class, black baseline), and at equal steps ``integrated_gradients`` vs Captum
   ``IntegratedGradients`` at every ``internal_batch_size`` in --ig-batches (both at the same batch;
   fresh processes, interleaved rounds, warm-up on the timed batch shapes): maps compared at the first
   batch before any time, then time and peak RSS per batch, each model's fastest batch within 3 GB and
   one pick for ``DEFAULT_IG_BATCH`` (least mean slowdown vs each model's fastest, as for SmoothGrad).
3. Grad-CAM and Grad-CAM++: time relative to one plain forward pass (``torch.inference_mode``).
4. The course: every notebook in notebooks/, solutions/, exercises/ executed by nbclient in a fresh
   process (kernel = this Python, offline settings as in conftest.py): wall time, peak RSS of the
   kernel process tree (psutil polling) and the kernel's own ``ru_maxrss``, three slowest cells.

Prints each table, then the goals with MET / NOT MET, and writes bench/RESULTS.md (--results).
Timings are wall-clock on a shared machine: read the load average printed with them.
"""
import argparse
import contextlib
import copy
import datetime
import functools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GB = 1024 ** 3
MEMORY_LIMIT = 3 * GB
MODELS = ("efficientnet_lite0", "resnet50")
MODEL_TITLE = {"efficientnet_lite0": "EfficientNet-Lite0 (shipped weights)",
               "resnet50": "ResNet-50 (random weights)", "resnet18": "ResNet-18 (random weights)",
               "tiny": "tiny CNN (random weights)"}
GOALS = {"sg_vs_loop": 2.5, "sg_vs_nt": 1.3, "ig_error": 0.05, "cam_vs_forward": 1.3,
         "nb_slowest_s": 90.0, "nb_total_s": 8 * 60.0}
MAP_TOLERANCE = 1e-3   # max |a - b| / max |a| for "the same map" (float summation order differs by batch)


# =============================================================================================
# Models and the implementations under comparison (importable: tests/test_bench_smoke.py uses them)
# =============================================================================================
def load_subject(name, device="cpu"):
    """-> ImageModel.  ``efficientnet_lite0``: shipped weights; ``resnet50``/``resnet18``: random
    weights (no download); ``tiny``: a 4-layer CNN on 32x32 inputs for the smoke test."""
    import torch
    import xai_helpers as xh
    os.environ["XAI_DEVICE"] = device
    if name == "tiny":
        from torch import nn
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1),
                                nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
        net = xh.freeze(net).to(device)
        return xh.ImageModel(name="tiny", model=net, labels=[f"class {i}" for i in range(10)],
                             target_layer=net[3], target_layer_name="3", mean=(0.5,) * 3, std=(0.5,) * 3,
                             resize=36, crop=32, device=torch.device(device))
    model = xh.load_image_model(name, random_weights=(name != "efficientnet_lite0"))
    if str(model.device) != device:
        raise RuntimeError(f"get_device() chose {model.device}, the benchmark asked for {device}; "
                           f"set XAI_DEVICE (see xai_helpers/device.py).")
    return model


def top1(image_model, x):
    import torch
    with torch.inference_mode():
        return int(image_model.model(x).argmax(1))


def seed_smooth_grad_loop(module, x, target, sigma, n_samples, seed):
    """The source text's ``smooth_grad`` loop (section 4.1), faithfully: parameters trainable (on a deep
    copy, the course's model stays frozen), one noisy sample at a time, ``model.zero_grad()`` and
    ``.backward()``, noise ``torch.randn_like(x) * sigma`` from the global generator seeded with
    ``seed``. Returns the mean gradient (signed, like ``x``), before the text's abs/max reduction.
    The copy is made by ``make_trainable_copy`` outside the timed region."""
    import torch
    torch.manual_seed(seed)
    img_tensor = x
    model = module
    gradients = []
    for _ in range(n_samples):
        noise = torch.randn_like(img_tensor) * sigma
        noisy_img = img_tensor + noise
        noisy_img.requires_grad = True
        output = model(noisy_img)
        model.zero_grad()
        output[0, target].backward()
        gradients.append(noisy_img.grad.data)
    return torch.stack(gradients).mean(dim=0)


def make_trainable_copy(module):
    m = copy.deepcopy(module).eval()
    for p in m.parameters():
        p.requires_grad_(True)
    return m


def captum_noise_tunnel(module, x, target, sigma, n_samples, seed, nt_samples_batch_size=None):
    """Captum ``NoiseTunnel(Saliency)`` (smoothgrad, abs=False: the signed map), global seed ``seed``."""
    import torch
    from captum.attr import NoiseTunnel, Saliency
    torch.manual_seed(seed)
    return NoiseTunnel(Saliency(module)).attribute(x, nt_type="smoothgrad", nt_samples=n_samples,
                                                   stdevs=sigma, target=target, abs=False,
                                                   nt_samples_batch_size=nt_samples_batch_size)


def helper_smoothgrad(image_model, x, target, n_samples, seed, chunk):
    import xai_helpers as xh
    return xh.smoothgrad(image_model, x, target, n_samples=n_samples, noise_level=0.15, batch_size=chunk,
                         seed=seed)


def channels_last_smoothgrad(image_model, x, target, n_samples, seed, chunk, noise_level=0.15, module=None):
    """``xai_helpers.smoothgrad``'s algorithm step for step (same seeded CPU-generator noise, drawn chunk
    by chunk; frozen parameters; ``torch.autograd.grad`` w.r.t. the input only), except that each noisy
    batch is made ``channels_last`` before the forward pass. Informational benchmark variant only: the
    layout changes float rounding, so its map is close to, not equal to, the helper's. ``module``: run
    this network instead of ``image_model.model`` (e.g. ``folded_copy``'s)."""
    import torch
    import xai_helpers as xh
    module = image_model.model if module is None else module
    sigma = xh.noise_sigma(x, noise_level)
    generator = torch.Generator().manual_seed(int(seed))  # CPU generator, as in the helper
    total = torch.zeros_like(x)
    for start in range(0, n_samples, chunk):
        n = min(chunk, n_samples - start)
        noise = torch.randn((n, *x.shape[1:]), generator=generator).to(x.device) * sigma
        noisy = (x.detach() + noise).contiguous(memory_format=torch.channels_last).requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(module(noisy)[:, target].sum(), noisy)
        total += grad.sum(0, keepdim=True)
    return total / n_samples


def folded_copy(module):
    """An eval-mode copy with every Conv2d -> BatchNorm2d pair folded into one convolution (torch.fx
    ``fuse``; exact algebra in eval mode, float rounding differs), parameters frozen. Informational
    benchmark variant only -> (copy, number of BatchNorm layers folded away)."""
    import torch
    from torch.fx.experimental.optimization import fuse

    def n_bn(m):
        return sum(isinstance(c, torch.nn.BatchNorm2d) for c in m.modules())
    folded = fuse(copy.deepcopy(module).eval())
    for p in folded.parameters():
        p.requires_grad_(False)
    return folded, n_bn(module) - n_bn(folded)


def warm_count(n, chunk):
    """Samples (or IG steps) for a warm-up that runs exactly the batch shapes of a timed run of ``n`` in
    chunks of ``chunk``: one full chunk plus the remainder when that fits in ``n``, else ``n`` itself."""
    m = chunk + n % chunk
    return m if m <= n else n


def captum_ig(module, x, target, baseline, n_steps, method, internal_batch_size):
    from captum.attr import IntegratedGradients
    attr, delta = IntegratedGradients(module).attribute(
        x, baselines=baseline, target=target, n_steps=n_steps, method=method,
        internal_batch_size=internal_batch_size, return_convergence_delta=True)
    return attr, float(delta.sum())


def map_difference(a, b):
    """max |a - b| / max |a|: 0 for identical maps."""
    scale = float(a.abs().max())
    return float((a - b).abs().max()) / (scale if scale > 0 else 1.0)


def check_smoothgrad_agreement(image_model, x, target, n_samples=50, seed=0, chunk=10):
    """Maps of the three SmoothGrad implementations on the same seeded noise -> dict of differences."""
    import xai_helpers as xh
    sigma = xh.noise_sigma(x, 0.15)
    ours = helper_smoothgrad(image_model, x, target, n_samples, seed, chunk)
    loop = seed_smooth_grad_loop(make_trainable_copy(image_model.model), x, target, sigma, n_samples, seed)
    nt = captum_noise_tunnel(image_model.model, x, target, sigma, n_samples, seed)
    return {"loop": map_difference(loop, ours), "noise_tunnel": map_difference(nt, ours)}


def check_ig_agreement(image_model, x, target, n_steps, method, batch):
    from xai_helpers.integrated import integrated_gradients, make_baseline
    ours, d1 = integrated_gradients(image_model, x, target, "black", n_steps=n_steps, method=method,
                                    internal_batch_size=batch)
    theirs, d2 = captum_ig(image_model.model, x, target, make_baseline(image_model, x, "black"), n_steps,
                           method, batch)
    return {"attributions": map_difference(theirs, ours), "delta_ours": d1, "delta_captum": d2}


def check_cam_agreement(image_model, x, target):
    """Grad-CAM (no upsampling, no normalisation) vs Captum LayerGradCam(relu_attributions=True)."""
    from captum.attr import LayerGradCam
    from xai_helpers.cam import grad_cam, grad_cam_plus_plus
    ours = grad_cam(image_model, None, x, target, upsample=False, normalize=False)
    theirs = LayerGradCam(image_model.model, image_model.target_layer).attribute(
        x, target=target, relu_attributions=True)[0, 0].detach()
    pp = grad_cam_plus_plus(image_model, None, x, target)
    return {"grad_cam_vs_captum": map_difference(theirs, ours), "grad_cam_pp_finite": bool(pp.isfinite().all())}


# =============================================================================================
# Worker: one measurement in a fresh process; prints "RESULT <json>"
# =============================================================================================
def _maxrss_bytes(who=resource.RUSAGE_SELF):
    return resource.getrusage(who).ru_maxrss * 1024  # Linux: kilobytes


def _sync(device):
    import torch
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _peak(device):
    """Peak memory so far: process RSS on the CPU, plus the CUDA allocator's peak on a GPU."""
    import torch
    rss = _maxrss_bytes()
    if str(device).startswith("cuda"):
        return rss + torch.cuda.max_memory_allocated()
    return rss


def _worker(task):
    import torch
    if task.get("threads"):
        torch.set_num_threads(int(task["threads"]))
    kind = task["kind"]
    if kind == "notebook":
        return _run_notebook(task)
    import xai_helpers as xh
    im = load_subject(task["model"], task["device"])
    x = im.preprocess(task.get("photo", "cat"))
    target = top1(im, x)
    out = {"target": target}
    if kind == "sg":
        n, seed, variant = task["n"], task["seed"], task["variant"]
        sigma = xh.noise_sigma(x, 0.15)
        # The warm-up (another seed) runs exactly the tensor shapes of the timed run, so that no variant
        # pays first-use costs (oneDNN primitives, allocator growth) inside the timed region.
        if variant == "loop":   # batch 1 throughout: one sample
            module = make_trainable_copy(im.model)
            run = lambda: seed_smooth_grad_loop(module, x, target, sigma, n, seed)  # noqa: E731
            warm = lambda: seed_smooth_grad_loop(module, x, target, sigma, 1, seed + 1)  # noqa: E731
        elif variant == "nt":   # nt_samples_batch_size=None: all n in one batch, so a full run
            run = lambda: captum_noise_tunnel(im.model, x, target, sigma, n, seed)  # noqa: E731
            warm = lambda: captum_noise_tunnel(im.model, x, target, sigma, n, seed + 1)  # noqa: E731
        else:                   # chunks of c: one full chunk and the remainder
            name, chunk = variant.split(":")
            fn = {"helper": helper_smoothgrad, "helper-cl": channels_last_smoothgrad}.get(name)
            if name == "helper-clfold":   # the folding is a one-time model transformation, outside the timing
                folded, out["bn_folded"] = folded_copy(im.model)
                fn = functools.partial(channels_last_smoothgrad, module=folded)
            chunk = int(chunk)
            run = lambda: fn(im, x, target, n, seed, chunk)  # noqa: E731
            warm = lambda: fn(im, x, target, warm_count(n, chunk), seed + 1, chunk)  # noqa: E731
        warm()
        _sync(task["device"])
        out["rss_before"] = _peak(task["device"])
        t = time.perf_counter()
        result = run()
        _sync(task["device"])
        out["seconds"] = time.perf_counter() - t
        out["peak_rss"] = _peak(task["device"])
        if task.get("save"):
            torch.save(result.detach().cpu(), task["save"])
    elif kind == "ig_steps":
        from xai_helpers.integrated import integrated_gradients, output_difference
        photos, grid = task["photos"], task["grid"]
        need, rows = None, []
        for photo in photos:
            x = im.preprocess(photo)
            target = top1(im, x)
            gap = output_difference(im, x, target, "black")
            # the step count found so far is tried first; upwards through the grid only when it fails
            # (assumes the error does not rise again with more steps; the table shows each value)
            start = grid.index(need) if need else 0
            tried = {}
            for n in grid[start:]:
                _, delta = integrated_gradients(im, x, target, "black", n_steps=n, method=task["method"],
                                                internal_batch_size=task["batch"])
                tried[n] = abs(delta) / abs(gap) if gap else float("inf")
                if tried[n] <= GOALS["ig_error"]:
                    need = max(need or 0, n)
                    break
            else:
                need = -1  # not reached within the grid
            rows.append({"photo": photo, "target": target, "gap": gap, "errors": tried})
            if need == -1:
                break
        out.update(need=need, rows=rows)
    elif kind == "ig_time":
        from xai_helpers.integrated import integrated_gradients, make_baseline
        base = make_baseline(im, x, "black")
        args = (task["steps"], task["method"], task["batch"])
        if task["impl"] == "helper":
            def run(steps=args[0]):
                return integrated_gradients(im, x, target, "black", n_steps=steps, method=args[1],
                                            internal_batch_size=args[2])
        else:
            def run(steps=args[0]):
                return captum_ig(im.model, x, target, base, steps, *args[1:])
        run(max(2, warm_count(args[0], args[2])))  # warm-up: the timed run's batch shapes, fewer steps
        _sync(task["device"])
        out["rss_before"] = _peak(task["device"])
        t = time.perf_counter()
        attr, delta = run()
        _sync(task["device"])
        out["seconds"] = time.perf_counter() - t
        out["peak_rss"] = _peak(task["device"])
        out["delta"] = delta
        if task.get("save"):
            torch.save(attr.detach().cpu(), task["save"])
    elif kind == "cam":
        from xai_helpers.cam import grad_cam, grad_cam_plus_plus
        out["agreement"] = check_cam_agreement(im, x, target)

        def forward():
            with torch.inference_mode():
                return im.model(x)
        fns = {"forward": forward, "grad_cam": lambda: grad_cam(im, None, x, target),
               "grad_cam_pp": lambda: grad_cam_plus_plus(im, None, x, target)}
        for f in fns.values():
            f()
        times = {k: [] for k in fns}
        for _ in range(task["reps"]):
            for k, f in fns.items():
                _sync(task["device"])
                t = time.perf_counter()
                f()
                _sync(task["device"])
                times[k].append(time.perf_counter() - t)
        out["times"] = times
    else:
        raise ValueError(kind)
    return out


def _notebook_env():
    """Environment of a notebook kernel as in `make test` (conftest.py): offline, Agg, 2 threads."""
    env = dict(os.environ)
    guard = ROOT / "tests" / "offline_guard"
    env.update(XAI_BLOCK_NETWORK="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_HUB_DISABLE_TELEMETRY="1", MPLBACKEND=env.get("MPLBACKEND", "Agg"),
               PYTHONPATH=os.pathsep.join(p for p in (str(guard), env.get("PYTHONPATH")) if p))
    env.setdefault("TORCH_NUM_THREADS", "2")
    return env


def _run_notebook(task):
    import nbformat
    from nbclient import NotebookClient
    path = Path(task["path"])
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=task["timeout"], kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(path.parent)}})
    error = None
    t = time.perf_counter()
    try:
        client.execute()
    except Exception as err:  # a failing cell: report it, keep the timings up to there
        error = f"{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}"[:300]
    seconds = time.perf_counter() - t
    cells = []
    for i, cell in enumerate(nb.cells):
        ex = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type == "code" and "iopub.execute_input" in ex and "shell.execute_reply" in ex:
            a = datetime.datetime.fromisoformat(ex["iopub.execute_input"].replace("Z", "+00:00"))
            b = datetime.datetime.fromisoformat(ex["shell.execute_reply"].replace("Z", "+00:00"))
            first = next((ln for ln in cell.source.splitlines() if ln.strip() and not ln.startswith("#")), "")
            cells.append({"index": i, "seconds": (b - a).total_seconds(), "source": first[:60]})
    return {"seconds": seconds, "error": error, "cells": cells,
            "kernel_maxrss": _maxrss_bytes(resource.RUSAGE_CHILDREN)}


# =============================================================================================
# Driver
# =============================================================================================
def loadavg():
    try:
        return tuple(float(v) for v in Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return os.getloadavg()


def spawn(task, env=None, poll_tree=False, timeout=None):
    """Run one worker task in a fresh process -> its result dict (+ 'tree_peak' when polling)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_worker", json.dumps(task)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env or dict(os.environ, PYTHONWARNINGS="ignore"), cwd=ROOT)
    tree_peak = 0
    if poll_tree:
        import psutil
        parent = psutil.Process(proc.pid)
        while proc.poll() is None:
            total = 0
            with contextlib.suppress(psutil.Error):
                for child in parent.children(recursive=True):   # the kernel and anything it starts
                    with contextlib.suppress(psutil.Error):
                        total += child.memory_info().rss
            tree_peak = max(tree_peak, total)
            time.sleep(0.1)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        return {"failed": f"timed out after {timeout} s"}
    line = next((ln for ln in reversed(stdout.splitlines()) if ln.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        return {"failed": (stderr.strip().splitlines() or ["no output"])[-1][:400]}
    result = json.loads(line[len("RESULT "):])
    if poll_tree:
        result["tree_peak"] = tree_peak
    return result


def median_range(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def fmt_mr(mr, unit="", digits=2):
    if mr is None:
        return "n/a"
    m, lo, hi = mr
    return f"{m:.{digits}f}{unit} [{lo:.{digits}f}-{hi:.{digits}f}]"


def fmt_gb(b):
    return "n/a" if b is None else f"{b / GB:.2f} GB"


class Report:
    def __init__(self):
        self.sections, self.goals, self.notes = [], [], []

    def table(self, title, header, rows, note=None):
        widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
                  for i, h in enumerate(header)]
        lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths)),
                 "  ".join("-" * w for w in widths)]
        lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
        print(f"\n== {title}  (load avg {' '.join(f'{v:.1f}' for v in loadavg())})")
        print("\n".join(lines))
        if note:
            print(note)
        self.sections.append((title, header, rows, note, loadavg()))
        sys.stdout.flush()

    def goal(self, what, measured, met):
        self.goals.append((what, measured, "MET" if met is True else "NOT MET" if met is False else met))


def bench_smoothgrad(args, rep, tmp):
    n, seed = args.n_samples, 0
    chunks = args.chunks
    # informational: not picked, not a goal, map may differ
    info = [f"{k}:{c}" for k in ("helper-cl", "helper-clfold") for c in args.cl_chunks]
    variants = ["loop", "nt"] + [f"helper:{c}" for c in chunks] + info
    sweep_rounds = max(1, min(args.sweep_repeats or args.repeats, args.repeats))
    picked, bn_folded = {}, {}
    for model in args.models:
        times = {v: [None] * args.repeats for v in variants}
        rss = {v: [] for v in variants}
        failed = {}
        agree, best = None, None
        for r in range(args.repeats):
            # sweep rounds run every chunk size; later rounds only loop, NoiseTunnel and the chosen chunk
            this_round = variants if r < sweep_rounds else ["loop", "nt", f"helper:{best}"] + info
            for v in this_round:
                if v in failed:
                    continue
                save = str(Path(tmp) / f"sg_{model}_{v.replace(':', '_')}.pt") if r == 0 else None
                res = spawn({"kind": "sg", "model": model, "device": args.device, "variant": v, "n": n,
                             "seed": seed, "save": save, "threads": args.threads})
                if "failed" in res:
                    failed[v] = res["failed"]
                    continue
                times[v][r] = res["seconds"]
                rss[v].append(res["peak_rss"])
                if "bn_folded" in res:
                    bn_folded[model] = res["bn_folded"]
                print(f"  smoothgrad {model} round {r + 1} {v:10s} {res['seconds']:7.2f} s  "
                      f"peak {fmt_gb(res['peak_rss'])}", flush=True)
            if r == 0:  # the maps must agree before any time is reported
                import torch
                maps = {v: torch.load(Path(tmp) / f"sg_{model}_{v.replace(':', '_')}.pt", weights_only=True)
                        for v in variants if v not in failed}
                ref = maps.get(f"helper:{chunks[0]}")
                diff = {v: map_difference(ref, m) for v, m in maps.items()} if ref is not None else {}
                agree = {v: d for v, d in diff.items() if v not in info}
                bad = {v: d for v, d in agree.items() if d > MAP_TOLERANCE}
                rep.table(f"SmoothGrad n={n}, {MODEL_TITLE[model]}: map agreement (same seeded noise)",
                          ["variant", "max|diff|/max|ref| vs helper(chunk=%d)" % chunks[0], "same map?"],
                          [[v, f"{d:.1e}", ("yes" if d <= MAP_TOLERANCE else "NO") if v not in info else
                            ("within tol" if d <= MAP_TOLERANCE else "no") + " (informational)"]
                           for v, d in diff.items()]
                          + [[v, "failed: " + f, "?"] for v, f in failed.items()],
                          "helper-cl:C (informational): channels-last layout: float rounding differs, which flips "
                          "ReLU gates at a few pixels, so its map is not required to agree within MAP_TOLERANCE"
                          if info else None)
                if bad or not agree or "loop" in failed or "nt" in failed:
                    rep.notes.append(f"SmoothGrad {model}: maps differ ({bad}) or runs failed ({failed}): "
                                     "no time reported.")
                    rep.goal(f"SmoothGrad maps agree ({model})", str(bad or failed)[:150], False)
                    break
            if r == sweep_rounds - 1:
                peak = {v: max(rss[v]) if rss[v] else None for v in variants}
                med = {v: median_range(times[v]) for v in variants}
                feasible = [c for c in chunks if med[f"helper:{c}"] and peak[f"helper:{c}"] <= MEMORY_LIMIT]
                best = min(feasible, key=lambda c: med[f"helper:{c}"][0]) if feasible else None
                picked[model] = {c: med[f"helper:{c}"][0] for c in feasible}
                if best is None:
                    rep.goal(f"SmoothGrad: a chunk size within 3 GB ({model})", "none", False)
                    break
        else:
            med = {v: median_range(times[v]) for v in variants}
            peak = {v: max(rss[v]) if rss[v] else None for v in variants}

            def paired(a, b):
                return median_range([ta / tb for ta, tb in zip(times[a], times[b])
                                     if ta is not None and tb is not None])
            rows = []
            for v in variants:
                if v in failed:
                    rows.append([v, "failed: " + failed[v][:60], "", "", "", ""])
                    continue
                rows.append([v + (" <- fastest within 3 GB" if v == f"helper:{best}" else
                                  " (informational)" if v in info else ""),
                             fmt_mr(med[v], " s"), sum(t is not None for t in times[v]), fmt_gb(peak[v]),
                             fmt_mr(paired("loop", v)), fmt_mr(paired("nt", v))])
            rep.table(f"SmoothGrad n={n}, {MODEL_TITLE[model]} (each run a fresh process; chunk sweep in "
                      f"{sweep_rounds} round(s), {args.repeats} rounds of loop / NoiseTunnel / chosen chunk)",
                      ["variant", "time median [min-max]", "runs", "peak RSS", "loop time / this",
                       "NoiseTunnel time / this"], rows,
                      "ratios are per round (paired), median [min-max]; > 1 means faster than loop / NoiseTunnel"
                      + ("; helper-cl:C = the helper's algorithm on a channels-last noisy batch, helper-clfold:C = "
                         "the same on a copy with BatchNorm folded into the convolutions"
                         + (f" ({bn_folded[model]} BatchNorm layers folded)" if model in bn_folded else "")
                         + " (informational: not eligible for the chunk pick, not a goal)" if info else ""))
            h = f"helper:{best}"
            vs_loop, vs_nt = paired("loop", h), paired("nt", h)
            rep.goal(f"SmoothGrad helper >= {GOALS['sg_vs_loop']}x the source loop ({model}, chunk {best})",
                     fmt_mr(vs_loop, "x"), vs_loop is not None and vs_loop[0] >= GOALS["sg_vs_loop"])
            rep.goal(f"SmoothGrad helper >= {GOALS['sg_vs_nt']}x Captum NoiseTunnel ({model}, chunk {best})",
                     fmt_mr(vs_nt, "x"), vs_nt is not None and vs_nt[0] >= GOALS["sg_vs_nt"])
            rep.goal(f"SmoothGrad helper peak RSS <= 3 GB ({model}, chunk {best})", fmt_gb(peak[h]),
                     peak[h] <= MEMORY_LIMIT)
            rep.goal(f"SmoothGrad: helper, loop and NoiseTunnel maps agree ({model})",
                     f"max diff {max(agree.values()):.1e} (tol {MAP_TOLERANCE:g})", True)
            for v in info:
                if v in diff:
                    kind = "channels-last + folded BatchNorm" if v.startswith("helper-clfold") else "channels-last"
                    rep.goal(f"SmoothGrad {kind} variant vs the source loop ({model}, chunk "
                             f"{v.split(':')[1]})", fmt_mr(paired("loop", v), "x")
                             + f"; map diff vs helper {diff[v]:.1e}", "info")
    # one default for all models: least mean slowdown relative to each model's fastest feasible chunk
    common = set.intersection(*(set(p) for p in picked.values())) if picked else set()
    if common:
        score = {c: statistics.mean(p[c] / min(p.values()) for p in picked.values()) for c in common}
        choice = min(score, key=score.get)
        rep.table("SmoothGrad chunk size for DEFAULT_SMOOTHGRAD_BATCH (all models, within 3 GB)",
                  ["chunk", "mean time / each model's fastest feasible chunk"],
                  [[c, f"{score[c]:.3f}" + ("  <- pick" if c == choice else "")] for c in sorted(score)])
        rep.goal("SmoothGrad chunk size chosen from measurement", f"{choice} (models: {', '.join(picked)})", "info")


def bench_ig(args, rep, tmp):
    from xai_helpers.integrated import DEFAULT_IG_BATCH, DEFAULT_IG_STEPS
    search_batch = args.ig_batch or DEFAULT_IG_BATCH   # batch of the step search (its result does not depend on it)
    batches = args.ig_batches
    compare_steps = args.ig_steps or DEFAULT_IG_STEPS
    picked, measured = {}, {}   # model -> {feasible batch: helper median s}; model -> (peak, ratio, best)
    for model in args.models:
        rows, need = [], {}
        for method in (args.ig_methods if model in args.ig_steps_models else []):
            t = time.perf_counter()
            res = spawn({"kind": "ig_steps", "model": model, "device": args.device, "method": method,
                         "photos": args.photos, "grid": args.ig_grid, "batch": search_batch,
                         "threads": args.threads})
            if "failed" in res:
                rows.append([method, "failed: " + res["failed"][:80], "", ""])
                continue
            need[method] = res["need"]
            for row in res["rows"]:
                rows.append([method, row["photo"], row["target"],
                             "  ".join(f"{n}:{e:.1%}" for n, e in row["errors"].items())])
            print(f"  ig steps {model} {method}: need {res['need']} ({time.perf_counter() - t:.0f} s)", flush=True)
            label = (f"{res['need']} steps" if res["need"] > 0 else f"> {args.ig_grid[-1]} steps (not reached)")
            rep.goal(f"IG completeness error <= 5 % on {len(args.photos)} photos: {method} ({model})", label,
                     "info")
        if rows:
            rep.table(f"Integrated Gradients, {MODEL_TITLE[model]}: |delta| / |F(x) - F(black)| (top-1 class)",
                      ["method", "photo", "class", "steps: error (search stops at the first <= 5 %)"], rows,
                      "each photo starts at the step count that sufficed for the previous photos")
        # equal steps: helper vs Captum at every batch size, interleaved round by round
        keys = [(impl, b) for b in batches for impl in ("helper", "captum")]
        times = {k: [None] * args.repeats for k in keys}
        rss = {k: [] for k in keys}
        failed, agree, stop = {}, None, False
        for r in range(args.repeats):
            for impl, b in keys:
                if (impl, b) in failed:
                    continue
                save = str(Path(tmp) / f"ig_{model}_{impl}.pt") if r == 0 and b == batches[0] else None
                res = spawn({"kind": "ig_time", "model": model, "device": args.device, "impl": impl,
                             "steps": compare_steps, "method": "gausslegendre", "batch": b, "save": save,
                             "threads": args.threads})
                if "failed" in res:
                    failed[(impl, b)] = res["failed"]
                else:
                    times[(impl, b)][r] = res["seconds"]
                    rss[(impl, b)].append(res["peak_rss"])
                    print(f"  ig {model} round {r + 1} {impl:7s} batch {b:3d} {res['seconds']:7.2f} s "
                          f"peak {fmt_gb(res['peak_rss'])}", flush=True)
                if r == 0 and b == batches[0] and impl == "captum":   # the maps must agree before any time
                    first = [("helper", b), ("captum", b)]
                    if any(k in failed for k in first):
                        rep.notes.append(f"IG {model}: {({k: failed[k] for k in first if k in failed})}")
                        rep.goal(f"IG helper and Captum run ({model}, batch {b})", "failed", False)
                        stop = True
                        break
                    import torch
                    agree = map_difference(torch.load(Path(tmp) / f"ig_{model}_captum.pt", weights_only=True),
                                           torch.load(Path(tmp) / f"ig_{model}_helper.pt", weights_only=True))
                    if agree > MAP_TOLERANCE:
                        rep.goal(f"IG helper equals Captum ({model})", f"{agree:.1e}", False)
                        stop = True
                        break
            if stop:
                break
        if stop:
            continue

        def paired(a, b):
            return median_range([ta / tb for ta, tb in zip(times[a], times[b]) if ta is not None and tb is not None])
        med = {k: median_range(times[k]) for k in keys}
        peak = {k: max(rss[k]) if rss[k] else None for k in keys}
        feasible = [b for b in batches if med[("helper", b)] and peak[("helper", b)] <= MEMORY_LIMIT]
        best = min(feasible, key=lambda b: med[("helper", b)][0]) if feasible else None
        table = []
        for b in batches:
            h, c = ("helper", b), ("captum", b)
            table.append([f"{b}" + ("  <- fastest within 3 GB" if b == best else ""),
                          "failed: " + failed[h][:60] if h in failed and not rss[h] else fmt_mr(med[h], " s"),
                          fmt_gb(peak[h]),
                          "failed: " + failed[c][:60] if c in failed and not rss[c] else fmt_mr(med[c], " s"),
                          fmt_gb(peak[c]), fmt_mr(paired(c, h), "x")])
        rep.table(f"Integrated Gradients at equal steps ({compare_steps}, gausslegendre) by internal_batch_size, "
                  f"{MODEL_TITLE[model]} (each run a fresh process, {args.repeats} interleaved round(s))",
                  ["internal_batch_size", "helper time median [min-max]", "helper peak RSS",
                   "Captum time median [min-max]", "Captum peak RSS", "Captum time / helper (paired)"], table,
                  f"attributions helper vs Captum at batch {batches[0]}: max|diff|/max = {agree:.1e}; "
                  "Captum runs at the same internal_batch_size as the helper")
        if best is None:
            rep.goal(f"IG: an internal_batch_size within 3 GB ({model})", "none", False)
            continue
        picked[model] = {b: med[("helper", b)][0] for b in feasible}
        measured[model] = (peak, {b: paired(("captum", b), ("helper", b)) for b in batches}, best)
    # one default for all models: least mean slowdown relative to each model's fastest feasible batch
    common = set.intersection(*(set(p) for p in picked.values())) if picked else set()
    fastest = "fastest helper batch within 3 GB: " + ", ".join(f"{m} {v[2]}" for m, v in measured.items())
    choice = None
    if common:
        score = {b: statistics.mean(p[b] / min(p.values()) for p in picked.values()) for b in common}
        choice = min(score, key=score.get)
        rep.table("IG internal_batch_size for DEFAULT_IG_BATCH (all models, within 3 GB)",
                  ["internal_batch_size", "mean helper time / each model's fastest feasible batch"],
                  [[b, f"{score[b]:.3f}" + ("  <- pick" if b == choice else "")] for b in sorted(score)],
                  fastest)
        rep.goal("IG internal_batch_size chosen from measurement", f"{choice} (models: {', '.join(picked)})",
                 "info")
    elif picked:
        rep.notes.append(f"IG: no internal_batch_size within 3 GB on every model; {fastest}")
    for model, (peak, ratio, best) in measured.items():
        b = choice or best   # no batch within 3 GB on every model: each model's own fastest
        h, c = ("helper", b), ("captum", b)
        rep.goal(f"IG helper vs Captum at {compare_steps} steps, batch {b} ({model}): Captum time / helper",
                 fmt_mr(ratio[b], "x") + f"; peak {fmt_gb(peak[h])} vs {fmt_gb(peak[c])}", "info")
        rep.goal(f"IG peak RSS <= 3 GB ({model}, batch {b})", fmt_gb(peak[h]), peak[h] <= MEMORY_LIMIT)


def bench_cam(args, rep, tmp):
    for model in args.models:
        res = spawn({"kind": "cam", "model": model, "device": args.device, "reps": args.cam_reps,
                     "threads": args.threads})
        if "failed" in res:
            rep.goal(f"Grad-CAM runs ({model})", res["failed"][:100], False)
            continue
        t = res["times"]
        rows = []
        for k in ("forward", "grad_cam", "grad_cam_pp"):
            ratio = median_range([a / f for a, f in zip(t[k], t["forward"])])
            rows.append([k, fmt_mr(median_range([v * 1000 for v in t[k]]), " ms", 1), fmt_mr(ratio, "x")])
            if k != "forward":
                rep.goal(f"{k} <= {GOALS['cam_vs_forward']}x one forward pass ({model})", fmt_mr(ratio, "x"),
                         ratio[0] <= GOALS["cam_vs_forward"])
        ag = res["agreement"]
        rep.table(f"Grad-CAM / Grad-CAM++ vs one plain forward pass (inference_mode), {MODEL_TITLE[model]}, "
                  f"{args.cam_reps} interleaved rounds", ["call", "time median [min-max]", "time / forward (paired)"],
                  rows, f"Grad-CAM vs Captum LayerGradCam(relu): max|diff|/max = {ag['grad_cam_vs_captum']:.1e}; "
                        f"Grad-CAM++ finite: {ag['grad_cam_pp_finite']}")
        rep.goal(f"Grad-CAM equals Captum LayerGradCam ({model})", f"{ag['grad_cam_vs_captum']:.1e}",
                 ag["grad_cam_vs_captum"] <= MAP_TOLERANCE)


def bench_notebooks(args, rep, tmp):
    paths = sorted(p for d in ("notebooks", "solutions", "exercises") for p in (ROOT / d).glob("*.ipynb"))
    if args.notebooks:
        paths = [p for p in paths if any(s in p.name for s in args.notebooks)]
    rows, slow_rows, total, worst_s, worst_rss, failures = [], [], 0.0, 0.0, 0, []
    env = _notebook_env()
    for p in paths:
        t = time.perf_counter()
        res = spawn({"kind": "notebook", "path": str(p), "timeout": args.notebook_timeout}, env=env,
                    poll_tree=True)
        wall = time.perf_counter() - t
        rel = p.relative_to(ROOT)
        if "failed" in res:
            failures.append(str(rel))
            rows.append([rel, f"{wall:.1f}", "n/a", "n/a", "FAILED: " + res["failed"][:80]])
            continue
        total += res["seconds"]
        worst_s = max(worst_s, res["seconds"])
        peak = max(res["tree_peak"], res["kernel_maxrss"])
        worst_rss = max(worst_rss, peak)
        if res["error"]:
            failures.append(str(rel))
        rows.append([rel, f"{res['seconds']:.1f}", fmt_gb(res["tree_peak"]), fmt_gb(res["kernel_maxrss"]),
                     res["error"] or "ok"])
        for c in sorted(res["cells"], key=lambda c: -c["seconds"])[:3]:
            slow_rows.append([rel.name, c["index"], f"{c['seconds']:.1f}", c["source"]])
        print(f"  notebook {rel}: {res['seconds']:.1f} s, peak {fmt_gb(peak)}", flush=True)
    rep.table("Notebooks (nbclient, fresh kernel each, offline settings of `make test`)",
              ["notebook", "seconds", "peak RSS kernel tree (polled)", "kernel ru_maxrss", "status"], rows,
              f"{len(paths)} notebooks, execution total {total:.1f} s (kernel start included; unit tests and "
              "pytest overhead not included)")
    rep.table("Three slowest cells per notebook", ["notebook", "cell #", "seconds", "first code line"], slow_rows)
    if paths:
        rep.goal(f"slowest notebook <= {GOALS['nb_slowest_s']:.0f} s", f"{worst_s:.1f} s",
                 worst_s <= GOALS["nb_slowest_s"] and not failures)
        rep.goal("all notebooks <= 8 min (sum of executions; proxy for the nbval run)", f"{total:.1f} s",
                 total <= GOALS["nb_total_s"] and not failures)
        rep.goal("peak RSS <= 3 GB per kernel", fmt_gb(worst_rss), worst_rss <= MEMORY_LIMIT)
        if failures:
            rep.goal("every notebook executes without error", ", ".join(failures), False)


def machine_info(args):
    import torch
    try:
        import captum
        captum_version = captum.__version__
    except ImportError:
        captum_version = "missing"
    cpu = "unknown"
    with contextlib.suppress(OSError):
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.startswith("model name"))
    return {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "cpu": cpu, "cores": os.cpu_count(), "threads": args.threads or torch.get_num_threads(),
            "python": platform.python_version(), "torch": torch.__version__, "captum": captum_version,
            "device": args.device, "load_start": loadavg()}


def write_markdown(path, info, rep, args, seconds, argv, partial=""):
    la = " / ".join(f"{v:.2f}" for v in info["load_start"])
    le = " / ".join(f"{v:.2f}" for v in info["load_end"])
    out = ["# Benchmark results (bench/run.py)", "",
           "Generated by the run itself; every number below comes from that run. Regenerate: `make bench`.", "",
           f"* Date: {info['date']}; command: `python bench/run.py {' '.join(argv)}`; wall time {seconds / 60:.1f} min",
           f"* Machine: {info['cpu']}, {info['cores']} cores, torch threads {info['threads']}, device "
           f"{info['device']}; Python {info['python']}, torch {info['torch']}, captum {info['captum']}",
           f"* Load average (1/5/15 min) at start: {la}; at end: {le}. "
           f"The load in each section's heading is the 1/5/15-min load when it was printed.",
           "* Spread: median [min-max] over rounds; ratios are paired per round.", ""]
    if partial:
        out += [f"**{partial}**", ""]
    if args.note:
        out += [f"* Note: {args.note}", ""]
    out += ["## Goals", "", "| goal | measured | status |", "|---|---|---|"]
    out += [f"| {g} | {m} | {s} |" for g, m, s in rep.goals]
    for title, header, rows, note, la_now in rep.sections:
        out += ["", f"## {title}", "", f"load average {' / '.join(f'{v:.2f}' for v in la_now)}", "",
                "| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
        if note:
            out += ["", note]
    if rep.notes:
        out += ["", "## Notes", ""] + [f"* {n}" for n in rep.notes]
    Path(path).write_text("\n".join(out) + "\n")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3, help="rounds per timing (default 3)")
    ap.add_argument("--quick", action="store_true",
                    help="a fast check of the machinery: 1 round, n=10, chunks 1,5,10, 2 photos, small grids, "
                         "IG batches 4,16")
    ap.add_argument("--only", default="smoothgrad,ig,cam,notebooks",
                    help="comma list of sections, run in this order: smoothgrad,ig,cam,notebooks")
    ap.add_argument("--device", default="cpu", help="torch device (default cpu)")
    ap.add_argument("--models", default=",".join(MODELS),
                    help="comma list (efficientnet_lite0,resnet50,resnet18,tiny)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads per process (0: torch's default)")
    ap.add_argument("--n-samples", type=int, default=50)
    ap.add_argument("--chunks", default="1,5,10,25,50", help="SmoothGrad chunk sizes to sweep")
    ap.add_argument("--cl-chunks", default="5,10",
                    help="chunks of the informational channels-last SmoothGrad variant ('' = none)")
    ap.add_argument("--sweep-repeats", type=int, default=0,
                    help="rounds that sweep every chunk size (default: all --repeats rounds)")
    ap.add_argument("--ig-steps-models", default="",
                    help="models for the IG step-count search (default: --models)")
    ap.add_argument("--photos", default="", help="IG photos (default: every course photo)")
    ap.add_argument("--ig-methods", default="gausslegendre,riemann_right")
    ap.add_argument("--ig-grid", default="16,32,64,128,256,512", help="IG step counts searched")
    ap.add_argument("--ig-steps", type=int, default=0, help="steps of the helper-vs-Captum IG timing "
                                                            "(default DEFAULT_IG_STEPS)")
    ap.add_argument("--ig-batches", default=None,
                    help="internal_batch_size values timed, helper and Captum alike (default 4,8,16)")
    ap.add_argument("--ig-batch", type=int, default=0,
                    help="shortcut for --ig-batches N; also the step search's batch (default DEFAULT_IG_BATCH)")
    ap.add_argument("--cam-reps", type=int, default=10)
    ap.add_argument("--notebooks", default="", help="only notebooks whose file name contains one of these")
    ap.add_argument("--notebook-timeout", type=int, default=900)
    ap.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"), help="'' to write nothing")
    ap.add_argument("--note", default="", help="a sentence added to RESULTS.md (e.g. about machine load)")
    ap.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats = 1
        args.n_samples = 10
        args.chunks = "1,5,10"
        args.photos = args.photos or "cat,dog"
        args.ig_grid = "16,32,64"
        args.ig_steps = args.ig_steps or 16
        args.cam_reps = 3
        args.ig_batches = args.ig_batches or "4,16"
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    args.models = [s.strip() for s in args.models.split(",") if s.strip()]
    args.ig_steps_models = [s.strip() for s in args.ig_steps_models.split(",") if s.strip()] or args.models
    args.chunks = [int(c) for c in args.chunks.split(",")]
    args.cl_chunks = [int(c) for c in args.cl_chunks.split(",") if c.strip()]
    if args.ig_batch:
        args.ig_batches = str(args.ig_batch)
    args.ig_batches = [int(c) for c in (args.ig_batches or "4,8,16").split(",") if c.strip()]
    if not args.ig_batches or min(args.ig_batches) < 1 or min(args.chunks + args.cl_chunks) < 1:
        ap.error("--chunks, --cl-chunks and --ig-batches need positive integers")
    args.ig_methods = [s.strip() for s in args.ig_methods.split(",") if s.strip()]
    args.ig_grid = [int(c) for c in args.ig_grid.split(",")]
    args.notebooks = [s for s in args.notebooks.split(",") if s]
    if not args.photos:
        import xai_helpers as xh
        args.photos = ",".join(xh.COURSE_IMAGES)
    args.photos = [s.strip() for s in args.photos.split(",") if s.strip()]
    unknown = set(args.only) - {"smoothgrad", "ig", "cam", "notebooks"}
    if unknown:
        ap.error(f"unknown section(s) {sorted(unknown)}")
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args._worker:
        result = _worker(json.loads(args._worker))
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    info = machine_info(args)
    print(f"bench/run.py  {info['date']}  {info['cpu']} x{info['cores']}  torch {info['torch']}  "
          f"captum {info['captum']}  device {args.device}  load {info['load_start']}", flush=True)
    rep = Report()
    t0 = time.perf_counter()
    sections = {"smoothgrad": bench_smoothgrad, "ig": bench_ig, "cam": bench_cam, "notebooks": bench_notebooks}
    with tempfile.TemporaryDirectory(prefix="xai_bench_") as tmp:
        for name in args.only:  # in the order given
            t = time.perf_counter()
            try:
                sections[name](args, rep, tmp)
            except Exception as err:  # a missing helper (e.g. cam.py not written yet): say so, go on
                rep.goal(f"section {name} ran", f"{type(err).__name__}: {err}"[:200], False)
                rep.notes.append(f"section {name} failed: {type(err).__name__}: {err}")
            print(f"[{name}: {time.perf_counter() - t:.0f} s]", flush=True)
            if args.results and name != args.only[-1]:  # a run cut short still leaves what it measured
                info["load_end"] = loadavg()
                write_markdown(args.results, info, rep, args, time.perf_counter() - t0, argv,
                               partial=f"PARTIAL: written after section '{name}'; the run was still going.")
    seconds = time.perf_counter() - t0
    info["load_end"] = loadavg()
    print("\n== Goals")
    w = max((len(g) for g, _, _ in rep.goals), default=10)
    for g, m, s in rep.goals:
        print(f"{g.ljust(w)}  {m}  -> {s}")
    print(f"\ntotal {seconds / 60:.1f} min; load average at start {info['load_start']}, at end {info['load_end']}")
    if args.results:
        write_markdown(args.results, info, rep, args, seconds, argv)
        print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
