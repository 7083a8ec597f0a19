"""Benchmark: time per scene of every attribution method on the ground-truth CNN (section 4.5, issue #15).

Standalone: ``python bench/groundtruth.py`` (from the repository root). For each method of
``xai_helpers.groundtruth.METHODS`` on the shipped clean CNN and 200 held-out scenes it measures

* the batched path the lesson uses (``groundtruth.attribution_maps``: many scenes per helper call), and
* the helper called once per scene (``xh.vanilla_gradients(model, x[i:i+1], target)`` ...), on fewer scenes,

as CPU seconds (user + system of this process) and wall seconds per scene, median [min-max] over rounds,
with torch at 1 and at 2 threads. Also: IG's completeness error at the lesson's step count, and the CPU
time of the whole computation of section 4.5 (4 CNNs x 200 scenes x 9 methods). The results section is
written into bench/RESULTS.md (replacing an older one with the same heading); ``--results ''`` only prints.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import xai_helpers as xh  # noqa: E402
from xai_helpers import evaluation as ev  # noqa: E402
from xai_helpers.evaluation import groundtruth as gt  # noqa: E402

HEADING = "## Ground-truth CNN (section 4.5): time per scene of each attribution method"


def per_scene_call(model, method, x, t):
    """One helper call for one scene [1, 1, 48, 48] -- the unbatched way."""
    if method == "vanilla gradients":
        return xh.vanilla_gradients(model, x, t)
    if method == "gradient x input":
        return xh.gradient_x_input(model, x, t)
    if method == "smoothgrad":
        return xh.smoothgrad(model, x, t, n_samples=gt.SMOOTHGRAD_SAMPLES, noise_level=gt.NOISE_LEVEL,
                             batch_size=gt.SMOOTHGRAD_SAMPLES)
    if method.startswith("IG"):
        base = torch.zeros_like(x) if method == "IG (black)" else gt._blurred(x, gt.BLUR_SIGMA)
        return xh.integrated_gradients(model, x, t, baseline=base, n_steps=gt.IG_STEPS,
                                       batch_size=gt.IG_STEPS)[0]
    if method == "grad-cam":
        return xh.grad_cam(model, x, t, layer=gt.DigitCNN.target_layer)
    if method == "grad-cam++":
        return xh.grad_cam_plus_plus(model, x, t, layer=gt.DigitCNN.target_layer)
    if method == "random map":
        return ev.random_map(None, x)
    return ev.edge_map(None, x)


def clock(fn):
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def mr(values, scale=1e3):
    v = [x * scale for x in values]
    return f"{statistics.median(v):.2f} [{min(v):.2f}-{max(v):.2f}]"


def measure(model, scenes, n_single, rounds, threads):
    """{method: {"batched": [(cpu, wall) per scene per round], "single": [...]}}, torch on ``threads`` threads."""
    out = {m: {"batched": [], "single": []} for m in gt.METHODS}
    torch.set_num_threads(threads)
    gt.attribution_maps(model, scenes.images[:16], scenes.labels[:16], threads=threads)        # warm-up
    for _ in range(rounds):
        for m in gt.METHODS:
            cpu, wall = clock(lambda: gt.attribution_maps(model, scenes.images, scenes.labels, methods=(m,),
                                                          threads=threads))
            out[m]["batched"].append((cpu / len(scenes), wall / len(scenes)))
            xs, ts = scenes.images[:n_single], scenes.labels[:n_single]
            cpu, wall = clock(lambda: [per_scene_call(model, m, xs[i:i + 1], int(ts[i])) for i in range(n_single)])
            out[m]["single"].append((cpu / n_single, wall / n_single))
    return out


def lesson_section(scenes):
    """CPU and wall seconds of the lesson's computation, with the package's defaults (one torch thread for
    this CNN): every method on every CNN, plus the accuracy table."""
    models = {s: gt.load_digit_cnn(s) for s in gt.STRENGTHS}
    errors = []

    def run():
        gt.accuracy_table(models, n=len(scenes))
        for model in models.values():
            _, result = gt.method_table(model, scenes)
            errors.extend(e.max().item() for e in result.ig_error.values())
    cpu, wall = clock(run)
    return cpu, wall, max(errors)


def section(results, lesson, args, loads, seconds):
    lines = [HEADING, "",
             f"* Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; command: "
             f"`python bench/groundtruth.py {' '.join(sys.argv[1:])}`; {seconds / 60:.1f} min",
             f"* Machine: {os.cpu_count()} CPUs, torch {torch.__version__}, device cpu; load average (1/5/15 min) "
             f"at start {loads[0]}, at end {loads[1]}",
             f"* Model: the clean `DigitCNN` (16 k parameters, 1x48x48 input); {args.scenes} held-out scenes, each "
             f"explained for its own class; per-scene helper calls on the first {args.single} scenes. SmoothGrad "
             f"{gt.SMOOTHGRAD_SAMPLES} samples, IG {gt.IG_STEPS} Gauss-Legendre steps. Median [min-max] over "
             f"{args.rounds} rounds, milliseconds per scene; CPU = user + system time of the process (with "
             "2 threads it counts both cores, and on a loaded machine spin-waiting too).", ""]
    for threads, per_method in results.items():
        lines += [f"### torch threads: {threads}", "",
                  "| method | batched: CPU ms/scene | batched: wall ms/scene | one call per scene: CPU ms | "
                  "one call per scene: wall ms | batched speed-up (CPU) |", "|---|---|---|---|---|---|"]
        for m, r in per_method.items():
            b_cpu, b_wall = zip(*r["batched"])
            s_cpu, s_wall = zip(*r["single"])
            lines.append(f"| {m} | {mr(b_cpu)} | {mr(b_wall)} | {mr(s_cpu)} | {mr(s_wall)} | "
                         f"{statistics.median(s_cpu) / max(statistics.median(b_cpu), 1e-9):.1f}x |")
        lines.append("")
    if len(results) > 1:
        fewest, most = min(results), max(results)
        cpu = {t: {m: statistics.median(c for c, _ in r["batched"]) for m, r in per.items()} for t, per in results.items()}
        slower = [m for m in gt.METHODS if cpu[most][m] > cpu[fewest][m]]
        lines += [f"Batched, {most} threads took more CPU time than {fewest} for {len(slower)} of {len(gt.METHODS)} methods "
                  f"on this machine (load average above); the package runs this CNN on one thread "
                  "(`attribution_maps(..., threads=1)`).", ""]
    cpu, wall, worst = lesson
    lines += ["Grad-CAM, Grad-CAM++ and the controls are computed one scene at a time on both paths (the CAM "
              "helpers explain one example), so their speed-up is about 1.",
              "", f"Whole computation of section 4.5 with the package's defaults (accuracy table + 9 methods x 4 CNNs "
              f"x {args.scenes} scenes): {cpu:.1f} s CPU, {wall:.1f} s wall; worst IG completeness error "
              f"{worst:.2%} ({gt.IG_STEPS} steps, black and blurred baselines).", ""]
    return "\n".join(lines) + "\n"


def write(path, text):
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if HEADING in old:
        start = old.index(HEADING)
        nxt = old.find("\n## ", start + len(HEADING))
        old = old[:start].rstrip("\n") + ("\n\n" + old[nxt + 1:] if nxt >= 0 else "")
    path.write_text(old.rstrip("\n") + "\n\n" + text, encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=200)
    parser.add_argument("--single", type=int, default=40, help="scenes for the one-call-per-scene timing")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="1,2", help="torch thread counts to measure")
    parser.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"), help="'' = print only")
    args = parser.parse_args()
    start, loads = time.perf_counter(), [" / ".join(f"{v:.2f}" for v in os.getloadavg())]
    scenes = gt.make_scenes(args.scenes, marks="own")
    model = gt.load_digit_cnn(0.0)
    results, default_threads = {}, torch.get_num_threads()
    for threads in [int(t) for t in args.threads.split(",")]:
        results[threads] = measure(model, scenes, args.single, args.rounds, threads)
        print(f"threads {threads}: done", flush=True)
    torch.set_num_threads(default_threads)              # as in a notebook kernel
    lesson = lesson_section(scenes)
    loads.append(" / ".join(f"{v:.2f}" for v in os.getloadavg()))
    text = section(results, lesson, args, loads, time.perf_counter() - start)
    print(text)
    if args.results:
        write(Path(args.results), text)
        print(f"wrote the section into {args.results}")


if __name__ == "__main__":
    main()
