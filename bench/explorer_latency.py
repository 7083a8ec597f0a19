"""Latency of the interactive explorers on the course model, as a learner waits for it.

For each method: the time from a choice (``explorer.update(...)``, what a widget change calls) until the
new figure is drawn (the worker finished, PNG rendered), wall clock and CPU time (all threads), median
[min-max] over ``--repeats`` rounds after one warm-up; plus the static default view (what nbval and
static HTML show), a choice that supersedes a running SmoothGrad, and the text explorer. Standalone:

    .venv/bin/python bench/explorer_latency.py [--repeats 5] [--short] [--append bench/RESULTS.md]

``--short`` times only Grad-CAM and SmoothGrad (20) among the methods (a before/after check).
"""
import argparse
import datetime
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import xai_helpers as xh  # noqa: E402

GOAL_S = 0.5  # "Grad-CAM redraws in well under a second"
CASES = [("Grad-CAM", dict(method="grad_cam")), ("Grad-CAM++", dict(method="grad_cam_plus_plus")),
         ("Vanilla gradient", dict(method="vanilla_gradients")), ("Gradient × Input", dict(method="gradient_x_input")),
         ("SmoothGrad, 20 samples (explorer default)", dict(method="smoothgrad", n_samples=20)),
         ("SmoothGrad, 50 samples", dict(method="smoothgrad", n_samples=50)),
         ("IG, 32 steps", dict(method="integrated_gradients", n_steps=32)),
         (f"IG, {xh.methods.DEFAULT_IG_STEPS} steps (explorer default)",
          dict(method="integrated_gradients", n_steps=xh.methods.DEFAULT_IG_STEPS)),
         ("Grad-CAM + Grad-CAM++ side by side", dict(method="grad_cam", compare="grad_cam_plus_plus"))]


DRAWN = []   # perf_counter() at the end of each draw of an explorer passed to record_draws


def record_draws(explorer):
    """Wrap ``explorer._store`` so each drawn view records when it was ready: the learner sees it then;
    the worker's memory release that follows (gc + malloc_trim) is in the CPU column, not in the latency."""
    store = explorer._store

    def recorded(view):
        out = store(view)
        DRAWN.append(time.perf_counter())
        return out
    explorer._store = recorded
    return explorer


def timed(fn):
    """(wall seconds until the last draw fn caused, or until fn returned; CPU seconds of fn)."""
    DRAWN.clear()
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (DRAWN[-1] if DRAWN else time.perf_counter()) - wall, time.process_time() - cpu


def rounds(fn, repeats):
    fn()  # warm-up: first pass at a shape pays one-off costs
    results = [timed(fn) for _ in range(repeats)]
    return [w for w, _ in results], [c for _, c in results]


def spread(values):
    return f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


SHORT = ("Grad-CAM", "SmoothGrad, 20 samples (explorer default)")


def image_rows(explorer, repeats, short=False):
    rows = []
    for name, settings in CASES:
        if short and name not in SHORT:
            continue
        base = {**explorer.settings, "compare": None, **settings}

        def choose(base=base):
            explorer.settings.update(base)
            explorer.refresh()
            assert explorer.runner.wait(600) and explorer.last_error is None, explorer.last_error
        walls, cpus = rounds(choose, repeats)
        rows.append((name, walls, cpus))
    return rows


def supersede_rows(explorer, repeats):
    def supersede():
        explorer.update(method="smoothgrad", n_samples=100, compare=None)
        time.sleep(0.3)                       # the SmoothGrad worker is running
        explorer.update(method="grad_cam")
        assert explorer.runner.wait(600) and explorer.view["maps"][0][0] == "grad_cam"
    walls, cpus = rounds(lambda: timed(supersede), repeats)
    return [("Grad-CAM chosen 0.3 s into a 100-sample SmoothGrad (from the Grad-CAM choice)",
             [w - 0.3 for w in walls], [c for c in cpus])]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--append", type=Path, help="append the section to this markdown file")
    parser.add_argument("--note", default="")
    parser.add_argument("--short", action="store_true", help="methods: only " + " and ".join(SHORT))
    args = parser.parse_args(argv)
    load = os.getloadavg()
    wall, cpu = timed(lambda: xh.load_image_model())
    lines = ["", "## Explorer latency (bench/explorer_latency.py)", "",
             f"* Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; command: "
             f"`python bench/explorer_latency.py --repeats {args.repeats}{' --short' * args.short}`; model efficientnet_lite0 (cat photo).",
             f"* Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads "
             f"{torch.get_num_threads()}, device {xh.device.get_device()}; load average at start "
             f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}" + (f"; note: {args.note}" if args.note else ""),
             "* Latency = from the choice to the drawn figure (worker + PNG); CPU = user+sys of all threads, "
             "less sensitive to other load than wall time, and it includes the worker's memory release after the "
             "draw (gc + malloc_trim). Median [min-max] in seconds.", ""]
    static_wall, static_cpu = rounds(lambda: xh.explore_image("cat", interactive=False), args.repeats)
    explorer = record_draws(xh.explore_image("cat", interactive=False))
    rows = [("Static default view (Grad-CAM; what nbval/HTML show), model cached", static_wall, static_cpu)]
    rows += image_rows(explorer, args.repeats, args.short) + supersede_rows(explorer, args.repeats)
    text = record_draws(xh.explore_text(interactive=False))
    sentences = iter(f"Sentence number {i}: the plot was slow but the acting was great." for i in range(1000))
    text_wall, text_cpu = rounds(lambda: (text.update(text=next(sentences)), text.runner.wait(600)), args.repeats)
    rows.append(("Text explorer: a new sentence (LIG 50 steps + attention)", text_wall, text_cpu))
    lines += ["| what | latency (wall, s) | CPU (s) |", "|---|---|---|"]
    lines += [f"| {name} | {spread(w)} | {spread(c)} |" for name, w, c in rows]
    cam = statistics.median(rows[1][1])
    lines += ["", f"* Goal: Grad-CAM redraws well under a second (<= {GOAL_S} s median): "
              f"{cam:.2f} s -> {'MET' if cam <= GOAL_S else 'NOT MET'}.",
              f"* Peak RSS of this process (image + text explorers): "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; loading the model: "
              f"{wall:.1f} s wall, {cpu:.1f} s CPU.", ""]
    text_out = "\n".join(lines)
    print(text_out)
    if args.append:
        with open(args.append, "a") as f:
            f.write(text_out)


if __name__ == "__main__":
    main()
