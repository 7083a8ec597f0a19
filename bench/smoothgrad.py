"""Section "smoothgrad": ``xai_helpers.smoothgrad`` (n = 50) vs the source text's loop vs Captum NoiseTunnel.

The three draw the same seeded noise; their maps are compared in round 1 and no time is reported for a
model whose maps differ. ``helper:C`` is the helper with chunks of C noisy copies (C swept over --chunks;
the fastest within 3 GB is that model's choice, and ``pick_default`` gives DEFAULT_SMOOTHGRAD_BATCH).
Informational only (never picked, not a goal): ``helper-cl:C``, the helper's algorithm on a channels-last
batch, and ``helper-clfold:C``, the same on a copy with BatchNorm folded into the convolutions.
"""
import copy
import functools
from pathlib import Path

from bench.harness import MEMORY_LIMIT, fastest_within, interleaved_rounds, measure, pick_default, spawn
from bench.report import fmt_gb, fmt_mr
from bench.subjects import MAP_TOLERANCE, MODEL_TITLE, map_difference, subject_and_photo

NAME, ORDER = "smoothgrad", 10
GOALS = {"sg_vs_loop": 2.5, "sg_vs_nt": 1.3}
NOISE_LEVEL = 0.15
INFO_NOTE = ("helper-cl:C (informational): channels-last layout: float rounding differs, which flips ReLU gates "
             "at a few pixels, so its map is not required to agree within MAP_TOLERANCE")


def add_arguments(parser):
    parser.add_argument("--n-samples", type=int, default=50)
    parser.add_argument("--chunks", default="1,5,10,25,50", help="SmoothGrad chunk sizes to sweep")
    parser.add_argument("--cl-chunks", default="5,10",
                        help="chunks of the informational channels-last SmoothGrad variant ('' = none)")
    parser.add_argument("--sweep-repeats", type=int, default=0,
                        help="rounds that sweep every chunk size (default: all --repeats rounds)")


def configure(args, parser):
    if args.quick:
        args.n_samples, args.chunks = 10, "1,5,10"
    args.chunks = [int(c) for c in args.chunks.split(",")]
    args.cl_chunks = [int(c) for c in args.cl_chunks.split(",") if c.strip()]
    if min(args.chunks + args.cl_chunks) < 1:
        parser.error("--chunks and --cl-chunks need positive integers")


# ------------------------------------------------------------------ the implementations under comparison
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
    return xh.smoothgrad(image_model, x, target, n_samples=n_samples, noise_level=NOISE_LEVEL, batch_size=chunk,
                         seed=seed)


def channels_last_smoothgrad(image_model, x, target, n_samples, seed, chunk, noise_level=NOISE_LEVEL, module=None):
    """``xai_helpers.smoothgrad``'s algorithm step for step (same seeded CPU-generator noise, drawn chunk
    by chunk; frozen parameters; ``torch.autograd.grad`` w.r.t. the input only), except that each noisy
    batch is made ``channels_last`` before the forward pass. Informational variant: the layout changes
    float rounding, so its map is close to, not equal to, the helper's. ``module``: run this network
    instead of ``image_model.model`` (e.g. ``folded_copy``'s)."""
    import torch
    import xai_helpers as xh
    module = image_model.model if module is None else module
    sigma = xh.methods.noise_sigma(x, noise_level)
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
    variant only -> (copy, number of BatchNorm layers folded away)."""
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


def check_smoothgrad_agreement(image_model, x, target, n_samples=50, seed=0, chunk=10):
    """Maps of the three SmoothGrad implementations on the same seeded noise -> dict of differences."""
    import xai_helpers as xh
    sigma = xh.methods.noise_sigma(x, NOISE_LEVEL)
    ours = helper_smoothgrad(image_model, x, target, n_samples, seed, chunk)
    loop = seed_smooth_grad_loop(make_trainable_copy(image_model.model), x, target, sigma, n_samples, seed)
    nt = captum_noise_tunnel(image_model.model, x, target, sigma, n_samples, seed)
    return {"loop": map_difference(loop, ours), "noise_tunnel": map_difference(nt, ours)}


# ----------------------------------------------------------------------- one timing (a fresh process)
def variant_calls(im, x, target, variant, n, seed):
    """(run, warm, extra) for ``variant``; the warm-up (another seed) runs exactly the timed tensor shapes
    -- loop: one sample; chunks of c: one full chunk and the remainder; NoiseTunnel: all n at once."""
    import xai_helpers as xh
    sigma, extra = xh.methods.noise_sigma(x, NOISE_LEVEL), {}
    if variant == "loop":
        module = make_trainable_copy(im.model)
        return (lambda: seed_smooth_grad_loop(module, x, target, sigma, n, seed),
                lambda: seed_smooth_grad_loop(module, x, target, sigma, 1, seed + 1), extra)
    if variant == "nt":
        return (lambda: captum_noise_tunnel(im.model, x, target, sigma, n, seed),
                lambda: captum_noise_tunnel(im.model, x, target, sigma, n, seed + 1), extra)
    name, chunk = variant.split(":")
    fn = {"helper": helper_smoothgrad, "helper-cl": channels_last_smoothgrad}.get(name)
    if name == "helper-clfold":   # a one-time model transformation, outside the timing
        folded, extra["bn_folded"] = folded_copy(im.model)
        fn = functools.partial(channels_last_smoothgrad, module=folded)
    chunk = int(chunk)
    return (lambda: fn(im, x, target, n, seed, chunk),
            lambda: fn(im, x, target, warm_count(n, chunk), seed + 1, chunk), extra)


def time_variant(model, device, variant, n, seed, save=None):
    """Worker: one timed SmoothGrad run of ``variant`` -> {"seconds", "peak_rss", ...}; the map to ``save``."""
    import torch
    im, x, target = subject_and_photo(model, device)
    run, warm, extra = variant_calls(im, x, target, variant, n, seed)
    result, out = measure(run, warm, device)
    if save:
        torch.save(result.detach().cpu(), save)
    return {"target": target, **extra, **out}


# ------------------------------------------------------------------------------------------ the section
def run(args, rep, tmp):
    info = [f"{k}:{c}" for k in ("helper-cl", "helper-clfold") for c in args.cl_chunks]
    variants = ["loop", "nt"] + [f"helper:{c}" for c in args.chunks] + info
    picked = {}
    for model in args.models:
        state = _measure_model(args, rep, tmp, model, variants, info)
        if state.get("best") is not None:
            picked[model] = state["choices"]
    choice, score = pick_default(picked)
    if choice is not None:
        rep.table("SmoothGrad chunk size for DEFAULT_SMOOTHGRAD_BATCH (all models, within 3 GB)",
                  ["chunk", "mean time / each model's fastest feasible chunk"],
                  [[c, f"{score[c]:.3f}" + ("  <- pick" if c == choice else "")] for c in sorted(score)])
        rep.goal("SmoothGrad chunk size chosen from measurement", f"{choice} (models: {', '.join(picked)})", "info")


def _measure_model(args, rep, tmp, model, variants, info):
    """Interleaved rounds for one model: agreement after round 1, the chunk choice after the sweep."""
    sweep_rounds = max(1, min(args.sweep_repeats or args.repeats, args.repeats))
    state = {"best": None, "info": info, "sweep_rounds": sweep_rounds}

    def keys_for_round(r):
        return variants if r < sweep_rounds else ["loop", "nt", f"helper:{state['best']}"] + info

    def run_one(v, r):
        save = str(Path(tmp) / f"sg_{model}_{v.replace(':', '_')}.pt") if r == 0 else None
        res = spawn("bench.smoothgrad:time_variant", {"model": model, "device": args.device, "variant": v,
                                                      "n": args.n_samples, "seed": 0, "save": save},
                    threads=args.threads)
        if "failed" not in res:
            print(f"  smoothgrad {model} round {r + 1} {v:10s} {res['seconds']:7.2f} s  "
                  f"peak {fmt_gb(res['peak_rss'])}", flush=True)
        return res

    def after_round(r, t):
        if r == 0 and not _agreement(args, rep, tmp, model, variants, t, state):
            return False
        if r == sweep_rounds - 1:
            chunks = [f"helper:{c}" for c in args.chunks]
            best, medians = fastest_within(t, chunks, MEMORY_LIMIT)
            state["best"] = int(best.split(":")[1]) if best else None
            state["choices"] = {int(k.split(":")[1]): v for k, v in medians.items()}
            if best is None:
                rep.goal(f"SmoothGrad: a chunk size within 3 GB ({model})", "none", False)
                return False
        return True

    timings = interleaved_rounds(run_one, keys_for_round, args.repeats, after_round)
    if not timings.stopped:
        _timing_table(args, rep, model, variants, timings, state)
    return state


def _agreement(args, rep, tmp, model, variants, t, state):
    """Round 1's maps vs helper(first chunk): the table, and False (with a NOT MET goal) when they differ."""
    import torch
    info, chunks = state["info"], args.chunks
    maps = {v: torch.load(Path(tmp) / f"sg_{model}_{v.replace(':', '_')}.pt", weights_only=True)
            for v in variants if v not in t.failed}
    ref = maps.get(f"helper:{chunks[0]}")
    diff = state["diff"] = {v: map_difference(ref, m) for v, m in maps.items()} if ref is not None else {}
    agree = state["agree"] = {v: d for v, d in diff.items() if v not in info}
    bad = {v: d for v, d in agree.items() if d > MAP_TOLERANCE}
    rows = [[v, f"{d:.1e}", ("yes" if d <= MAP_TOLERANCE else "NO") if v not in info else
             ("within tol" if d <= MAP_TOLERANCE else "no") + " (informational)"] for v, d in diff.items()]
    rep.table(f"SmoothGrad n={args.n_samples}, {MODEL_TITLE[model]}: map agreement (same seeded noise)",
              ["variant", "max|diff|/max|ref| vs helper(chunk=%d)" % chunks[0], "same map?"],
              rows + [[v, "failed: " + f, "?"] for v, f in t.failed.items()], INFO_NOTE if info else None)
    if bad or not agree or "loop" in t.failed or "nt" in t.failed:
        rep.notes.append(f"SmoothGrad {model}: maps differ ({bad}) or runs failed ({t.failed}): no time reported.")
        rep.goal(f"SmoothGrad maps agree ({model})", str(bad or t.failed)[:150], False)
        return False
    return True


def _timing_table(args, rep, model, variants, t, state):
    info, best = state["info"], state["best"]
    bn = [r.get("bn_folded") for rs in t.extra.values() for r in rs if r.get("bn_folded") is not None]
    rows = []
    for v in variants:
        if v in t.failed:
            rows.append([v, "failed: " + t.failed[v][:60], "", "", "", ""])
            continue
        rows.append([v + (" <- fastest within 3 GB" if v == f"helper:{best}" else " (informational)" if v in info
                          else ""), fmt_mr(t.median(v), " s"), t.runs(v), fmt_gb(t.peak(v)),
                     fmt_mr(t.paired("loop", v)), fmt_mr(t.paired("nt", v))])
    note = "ratios are per round (paired), median [min-max]; > 1 means faster than loop / NoiseTunnel"
    if info:
        note += ("; helper-cl:C = the helper's algorithm on a channels-last noisy batch, helper-clfold:C = the same "
                 "on a copy with BatchNorm folded into the convolutions"
                 + (f" ({bn[0]} BatchNorm layers folded)" if bn else "")
                 + " (informational: not eligible for the chunk pick, not a goal)")
    rep.table(f"SmoothGrad n={args.n_samples}, {MODEL_TITLE[model]} (each run a fresh process; chunk sweep in "
              f"{state['sweep_rounds']} round(s), {args.repeats} rounds of loop / NoiseTunnel / chosen chunk)",
              ["variant", "time median [min-max]", "runs", "peak RSS", "loop time / this", "NoiseTunnel time / this"],
              rows, note)
    _goals(rep, model, t, state)


def _goals(rep, model, t, state):
    best, h = state["best"], f"helper:{state['best']}"
    vs_loop, vs_nt = t.paired("loop", h), t.paired("nt", h)
    rep.goal(f"SmoothGrad helper >= {GOALS['sg_vs_loop']}x the source loop ({model}, chunk {best})",
             fmt_mr(vs_loop, "x"), vs_loop is not None and vs_loop[0] >= GOALS["sg_vs_loop"])
    rep.goal(f"SmoothGrad helper >= {GOALS['sg_vs_nt']}x Captum NoiseTunnel ({model}, chunk {best})",
             fmt_mr(vs_nt, "x"), vs_nt is not None and vs_nt[0] >= GOALS["sg_vs_nt"])
    rep.goal(f"SmoothGrad helper peak RSS <= 3 GB ({model}, chunk {best})", fmt_gb(t.peak(h)),
             t.peak(h) <= MEMORY_LIMIT)
    rep.goal(f"SmoothGrad: helper, loop and NoiseTunnel maps agree ({model})",
             f"max diff {max(state['agree'].values()):.1e} (tol {MAP_TOLERANCE:g})", True)
    for v in state["info"]:
        if v in state["diff"]:
            kind = "channels-last + folded BatchNorm" if v.startswith("helper-clfold") else "channels-last"
            rep.goal(f"SmoothGrad {kind} variant vs the source loop ({model}, chunk {v.split(':')[1]})",
                     fmt_mr(t.paired("loop", v), "x") + f"; map diff vs helper {state['diff'][v]:.1e}", "info")
