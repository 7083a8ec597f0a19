"""Section "ig": the Integrated Gradients step count, and the helper vs Captum at equal steps.

1. The step search (``search_steps``; the only one -- tools/measure_ig_steps.py uses it too): for each
   quadrature rule, the steps needed for a completeness error |delta| / |F(x) - F(black)| <= 5 % on the
   course photos (top-1 class, black baseline).
2. At equal steps (DEFAULT_IG_STEPS), ``integrated_gradients`` vs Captum ``IntegratedGradients`` at every
   ``internal_batch_size`` of --ig-batches (Captum at the same batch): attributions compared at the first
   batch in round 1 before any time is reported; time and peak RSS per batch; each model's fastest batch
   within 3 GB and one pick for DEFAULT_IG_BATCH (``pick_default``, as for the SmoothGrad chunk).
"""
import time
from pathlib import Path

from bench.harness import MEMORY_LIMIT, fastest_within, interleaved_rounds, measure, pick_default, spawn
from bench.report import fmt_gb, fmt_mr
from bench.smoothgrad import warm_count
from bench.subjects import MAP_TOLERANCE, MODEL_TITLE, load_subject, map_difference, subject_and_photo, top1

NAME, ORDER = "ig", 20
IG_ERROR = 0.05   # completeness error goal of the step search


def add_arguments(parser):
    parser.add_argument("--ig-steps-models", default="", help="models for the IG step-count search (default: --models)")
    parser.add_argument("--photos", default="", help="IG photos (default: every course photo)")
    parser.add_argument("--ig-methods", default="gausslegendre,riemann_right")
    parser.add_argument("--ig-grid", default="16,32,64,128,256,512", help="IG step counts searched")
    parser.add_argument("--ig-steps", type=int, default=0,
                        help="steps of the helper-vs-Captum IG timing (default DEFAULT_IG_STEPS)")
    parser.add_argument("--ig-batches", default=None,
                        help="internal_batch_size values timed, helper and Captum alike (default 4,8,16)")
    parser.add_argument("--ig-batch", type=int, default=0,
                        help="shortcut for --ig-batches N; also the step search's batch (default DEFAULT_IG_BATCH)")


def configure(args, parser):
    if args.quick:
        args.photos, args.ig_grid = args.photos or "cat,dog", "16,32,64"
        args.ig_steps, args.ig_batches = args.ig_steps or 16, args.ig_batches or "4,16"
    args.ig_steps_models = _split(args.ig_steps_models) or args.models
    if args.ig_batch:
        args.ig_batches = str(args.ig_batch)
    args.ig_batches = [int(c) for c in _split(args.ig_batches or "4,8,16")]
    if not args.ig_batches or min(args.ig_batches) < 1:
        parser.error("--ig-batches needs positive integers")
    args.ig_methods, args.ig_grid = _split(args.ig_methods), [int(c) for c in _split(args.ig_grid)]
    if not args.photos:
        import xai_helpers as xh
        args.photos = ",".join(xh.data.COURSE_IMAGES)
    args.photos = _split(args.photos)


def _split(text):
    return [s.strip() for s in (text or "").split(",") if s.strip()]


# ------------------------------------------------------------------------------------ the step search
def search_steps(error_at, photos, grid, threshold=IG_ERROR, full=False):
    """THE Integrated Gradients step search. ``error_at(photo, n)`` -> completeness error at ``n`` steps.

    Photos are taken in turn. Each is measured upwards through the sorted ``grid`` from the count the
    photos before it needed, and stops at its first error <= ``threshold`` (``full``: measures the whole
    grid, for a table of the error ladder). The answer is the smallest grid count above every error that
    was over the threshold -- the smallest count from which every measured error is within it -- or -1
    when the grid has none (then the remaining photos are skipped unless ``full``). Assumes the error
    does not rise again above the answer on counts that were not measured.
    -> (answer, {photo: {steps: error}})."""
    grid, errors = sorted(grid), {}
    need = grid[0] if grid else -1
    for photo in photos if grid else ():
        tried = errors[photo] = {}
        for n in (grid if full else grid[grid.index(need):]):
            tried[n] = error_at(photo, n)
            if tried[n] <= threshold and not full:
                break
        need = required_steps(errors, grid, threshold)
        if need == -1 and not full:
            break
    return need, errors


def required_steps(errors, grid, threshold=IG_ERROR):
    """Smallest count in ``grid`` above every measured error over ``threshold`` (NaN counts as over); -1 if none."""
    over = [n for tried in errors.values() for n, e in tried.items() if not e <= threshold]
    above = [n for n in sorted(grid) if n > max(over, default=0)]
    return above[0] if above else -1


def completeness_error(image_model, method, batch):
    """-> ``error_at(photo, n)`` for ``search_steps``, and {photo: top-1 class} as it fills."""
    from xai_helpers.methods.integrated import integrated_gradients, output_difference
    cache, targets = {}, {}

    def error_at(photo, n):
        if photo not in cache:
            x = image_model.preprocess(photo)
            targets[photo] = top1(image_model, x)
            cache[photo] = (x, output_difference(image_model, x, targets[photo], "black"))
        x, gap = cache[photo]
        _, delta = integrated_gradients(image_model, x, targets[photo], "black", n_steps=n, method=method,
                                        batch_size=batch)
        return abs(delta) / abs(gap) if gap else float("inf")
    return error_at, targets


def step_search(model, device, method, photos, grid, batch, full=False):
    """Worker: ``search_steps`` on ``model`` -> {"need", "rows": [{"photo", "target", "errors"}]}."""
    error_at, targets = completeness_error(load_subject(model, device), method, batch)
    need, errors = search_steps(error_at, photos, grid, full=full)
    return {"need": need, "rows": [{"photo": p, "target": targets[p], "errors": e} for p, e in errors.items()]}


# ------------------------------------------------------------------------- helper vs Captum, equal steps
def captum_ig(module, x, target, baseline, n_steps, method, internal_batch_size):
    from captum.attr import IntegratedGradients
    attr, delta = IntegratedGradients(module).attribute(
        x, baselines=baseline, target=target, n_steps=n_steps, method=method,
        internal_batch_size=internal_batch_size, return_convergence_delta=True)
    return attr, float(delta.sum())


def check_ig_agreement(image_model, x, target, n_steps, method, batch):
    from xai_helpers.methods.integrated import integrated_gradients, make_baseline
    ours, d1 = integrated_gradients(image_model, x, target, "black", n_steps=n_steps, method=method,
                                    batch_size=batch)
    theirs, d2 = captum_ig(image_model.model, x, target, make_baseline(image_model, x, "black"), n_steps,
                           method, batch)
    return {"attributions": map_difference(theirs, ours), "delta_ours": d1, "delta_captum": d2}


def time_ig(model, device, impl, steps, method, batch, save=None):
    """Worker: one timed IG run of ``impl`` ("helper" or "captum") -> {"seconds", "peak_rss", "delta", ...}."""
    import torch
    from xai_helpers.methods.integrated import integrated_gradients, make_baseline
    im, x, target = subject_and_photo(model, device)
    base = make_baseline(im, x, "black")

    def run(n=steps):
        if impl == "helper":
            return integrated_gradients(im, x, target, "black", n_steps=n, method=method, batch_size=batch)
        return captum_ig(im.model, x, target, base, n, method, batch)
    (attr, delta), out = measure(run, lambda: run(max(2, warm_count(steps, batch))), device)
    if save:
        torch.save(attr.detach().cpu(), save)
    return {"target": target, "delta": delta, **out}


# ------------------------------------------------------------------------------------------ the section
def run(args, rep, tmp):
    from xai_helpers.methods.integrated import DEFAULT_IG_BATCH, DEFAULT_IG_STEPS
    steps = args.ig_steps or DEFAULT_IG_STEPS
    picked, measured = {}, {}
    for model in args.models:
        if model in args.ig_steps_models:
            _step_table(args, rep, model, args.ig_batch or DEFAULT_IG_BATCH)
        timings = _time_batches(args, rep, tmp, model, steps)
        if timings is None:
            continue
        best, medians = fastest_within(timings, [("helper", b) for b in args.ig_batches], MEMORY_LIMIT)
        _batch_table(args, rep, model, steps, timings, best)
        if best is None:
            rep.goal(f"IG: an internal_batch_size within 3 GB ({model})", "none", False)
            continue
        picked[model] = {k[1]: v for k, v in medians.items()}
        measured[model] = (timings, best[1])
    _pick_batch(rep, steps, picked, measured)


def _step_table(args, rep, model, batch):
    rows = []
    for method in args.ig_methods:
        t = time.perf_counter()
        res = spawn("bench.ig:step_search", {"model": model, "device": args.device, "method": method,
                                             "photos": args.photos, "grid": args.ig_grid, "batch": batch},
                    threads=args.threads)
        if "failed" in res:
            rows.append([method, "failed: " + res["failed"][:80], "", ""])
            continue
        for row in res["rows"]:
            rows.append([method, row["photo"], row["target"],
                         "  ".join(f"{n}:{e:.1%}" for n, e in row["errors"].items())])
        print(f"  ig steps {model} {method}: need {res['need']} ({time.perf_counter() - t:.0f} s)", flush=True)
        label = f"{res['need']} steps" if res["need"] > 0 else f"> {args.ig_grid[-1]} steps (not reached)"
        rep.goal(f"IG completeness error <= 5 % on {len(args.photos)} photos: {method} ({model})", label, "info")
    if rows:
        rep.table(f"Integrated Gradients, {MODEL_TITLE[model]}: |delta| / |F(x) - F(black)| (top-1 class)",
                  ["method", "photo", "class", "steps: error (search stops at the first <= 5 %)"], rows,
                  "each photo starts at the step count that sufficed for the previous photos")


def _time_batches(args, rep, tmp, model, steps):
    """Interleaved rounds of helper and Captum at every batch -> Timings, or None when they disagree."""
    keys, first = [(impl, b) for b in args.ig_batches for impl in ("helper", "captum")], args.ig_batches[0]

    def run_one(key, r):
        impl, b = key
        save = str(Path(tmp) / f"ig_{model}_{impl}.pt") if r == 0 and b == first else None
        res = spawn("bench.ig:time_ig", {"model": model, "device": args.device, "impl": impl, "steps": steps,
                                         "method": "gausslegendre", "batch": b, "save": save}, threads=args.threads)
        if "failed" not in res:
            print(f"  ig {model} round {r + 1} {impl:7s} batch {b:3d} {res['seconds']:7.2f} s "
                  f"peak {fmt_gb(res['peak_rss'])}", flush=True)
        return res

    def after_round(r, t):
        return r > 0 or _ig_agreement(rep, tmp, model, first, t)

    timings = interleaved_rounds(run_one, lambda r: keys, args.repeats, after_round)
    return None if timings.stopped else timings


def _ig_agreement(rep, tmp, model, batch, t):
    import torch
    failed = {k: t.failed[k] for k in (("helper", batch), ("captum", batch)) if k in t.failed}
    if failed:
        rep.notes.append(f"IG {model}: {failed}")
        rep.goal(f"IG helper and Captum run ({model}, batch {batch})", "failed", False)
        return False
    t.agreement = map_difference(torch.load(Path(tmp) / f"ig_{model}_captum.pt", weights_only=True),
                                 torch.load(Path(tmp) / f"ig_{model}_helper.pt", weights_only=True))
    if t.agreement > MAP_TOLERANCE:
        rep.goal(f"IG helper equals Captum ({model})", f"{t.agreement:.1e}", False)
        return False
    return True


def _batch_table(args, rep, model, steps, t, best):
    rows = []
    for b in args.ig_batches:
        h, c = ("helper", b), ("captum", b)
        rows.append([f"{b}" + ("  <- fastest within 3 GB" if h == best else ""), _time_cell(t, h), fmt_gb(t.peak(h)),
                     _time_cell(t, c), fmt_gb(t.peak(c)), fmt_mr(t.paired(c, h), "x")])
    rep.table(f"Integrated Gradients at equal steps ({steps}, gausslegendre) by internal_batch_size, "
              f"{MODEL_TITLE[model]} (each run a fresh process, {args.repeats} interleaved round(s))",
              ["internal_batch_size", "helper time median [min-max]", "helper peak RSS",
               "Captum time median [min-max]", "Captum peak RSS", "Captum time / helper (paired)"], rows,
              f"attributions helper vs Captum at batch {args.ig_batches[0]}: max|diff|/max = {t.agreement:.1e}; "
              "Captum runs at the same internal_batch_size as the helper")


def _time_cell(t, key):
    return "failed: " + t.failed[key][:60] if key in t.failed and not t.peaks.get(key) else fmt_mr(t.median(key), " s")


def _pick_batch(rep, steps, picked, measured):
    """One DEFAULT_IG_BATCH for every model, then each model's ratio and memory at that batch."""
    choice, score = pick_default(picked)
    fastest = "fastest helper batch within 3 GB: " + ", ".join(f"{m} {best}" for m, (_, best) in measured.items())
    if choice is not None:
        rep.table("IG internal_batch_size for DEFAULT_IG_BATCH (all models, within 3 GB)",
                  ["internal_batch_size", "mean helper time / each model's fastest feasible batch"],
                  [[b, f"{score[b]:.3f}" + ("  <- pick" if b == choice else "")] for b in sorted(score)], fastest)
        rep.goal("IG internal_batch_size chosen from measurement", f"{choice} (models: {', '.join(picked)})", "info")
    elif picked:
        rep.notes.append(f"IG: no internal_batch_size within 3 GB on every model; {fastest}")
    for model, (t, best) in measured.items():
        b = choice or best   # no batch within 3 GB on every model: each model's own fastest
        h, c = ("helper", b), ("captum", b)
        rep.goal(f"IG helper vs Captum at {steps} steps, batch {b} ({model}): Captum time / helper",
                 fmt_mr(t.paired(c, h), "x") + f"; peak {fmt_gb(t.peak(h))} vs {fmt_gb(t.peak(c))}", "info")
        rep.goal(f"IG peak RSS <= 3 GB ({model}, batch {b})", fmt_gb(t.peak(h)), t.peak(h) <= MEMORY_LIMIT)
