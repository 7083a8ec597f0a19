"""Section "explorer_memory": the kernel's memory while a learner keeps changing both explorers.

One fresh Jupyter kernel (jupyter_client, this Python) builds the image and the text explorer with their
widgets, then receives ``heavy_changes()`` one cell at a time -- each an ``explorer.update(...)`` (what a
widget change calls) followed by a wait for the redraw. After each change this process reads the kernel's
``/proc/<pid>/status``: VmRSS (resident now), VmHWM (peak so far) and Threads. The kernel also reports its
forward/backward hooks and threads before and after. ``tests/system/test_explorer_memory.py`` asserts on the
same run; ``make bench`` records it in RESULTS.md. Standalone:

    .venv/bin/python bench/explorer_memory.py [--changes 100] [--append bench/RESULTS.md]
"""
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 ** 2
NAME, ORDER = "explorer_memory", 70

LONG_SENTENCES = (
    "The first half of the film drags badly, with long scenes in which nothing happens and the dialogue "
    "circles the same two ideas, yet the final act is so tense, warm and beautifully acted that I left the "
    "cinema moved and grateful that I had stayed until the very end.",
    "Although the cast is full of famous faces and the photography of the mountains is often breathtaking, "
    "the script is lazy, the jokes fall flat, the villain is a cardboard cut-out and the ending, which "
    "everyone saw coming an hour earlier, made the whole audience groan loudly.")

SETUP = """
import gc, os, threading
import xai_helpers as xh
image = xh.explore_image("cat", interactive=True)
text = xh.explore_text(interactive=True)
_models = [image.image_model.model, text.classifier.model] + ([text.text_model.model] if text.text_model else [])

def _state():
    hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
                + len(getattr(m, "_backward_pre_hooks", {})) for net in _models for m in net.modules())
    return {"pid": os.getpid(), "hooks": hooks, "threads": sorted(t.name for t in threading.enumerate())}

def _change(explorer, **settings):
    explorer.update(**settings)
    assert explorer.runner.wait(600), "the explorer did not finish"
    assert explorer.last_error is None, explorer.last_error
"""


def heavy_changes(n=100, ig_every=34):
    """``n`` alternating heavy changes -> ``[(explorer, settings)]``: image and text take turns; the image
    explorer alternates SmoothGrad 50 samples between two noise levels, with IG 200 steps at every
    ``ig_every``-th change (an even index); the text explorer cycles through two long sentences (~55
    words each) and both together (~110 words, ~130 tokens), so the shapes keep changing."""
    texts = LONG_SENTENCES + (" ".join(LONG_SENTENCES),)
    changes = []
    for i in range(n):
        if i % 2:
            changes.append(("text", {"text": texts[(i // 2) % 3]}))
        elif i % ig_every == 0:
            changes.append(("image", {"method": "integrated_gradients", "n_steps": 200}))
        else:
            changes.append(("image", {"method": "smoothgrad", "n_samples": 50,
                                      "noise_level": (0.15, 0.2)[(i // 2) % 2]}))
    return changes


def proc_status(pid):
    """VmRSS, VmHWM (bytes) and Threads of process ``pid`` (Linux /proc)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) * 1024
        elif key == "Threads":
            fields[key] = int(value)
    return fields


class Kernel:
    """A fresh IPython kernel of this Python that imports xai_helpers from ``root`` (default: this tree);
    ``run(code)`` -> its printed output."""

    def __init__(self, root=ROOT, env=None):
        from jupyter_client.manager import start_new_kernel
        path = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
        env = dict(os.environ, PYTHONPATH=path, **(env or {}))
        self.manager, self.client = start_new_kernel(kernel_name="python3", env=env, cwd=str(root))

    def run(self, code, timeout=900):
        out, errors = [], []

        def on_output(msg):
            content = msg["content"]
            if msg["msg_type"] == "stream":
                out.append(content["text"])
            elif msg["msg_type"] == "error":
                errors.append("\n".join(content["traceback"]))
        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=on_output, store_history=False)
        if reply["content"]["status"] != "ok" or errors:
            raise RuntimeError(f"kernel cell failed: {code[:200]}\n" + "\n".join(errors)[-3000:])
        return "".join(out)

    def state(self):
        return json.loads(self.run("import json; print(json.dumps(_state()))"))

    def close(self):
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def drive(changes, root=ROOT, env=None, progress=None):
    """Run ``changes`` in a fresh kernel -> {"setup" (proc_status after building both explorers), "samples"
    (proc_status after each change, with its wall seconds), "before" / "after" (the kernel's hooks and
    threads after the first change, which starts whatever lives on, and after the last)}."""
    kernel, samples, before = Kernel(root, env), [], None
    try:
        kernel.run(SETUP)
        pid = json.loads(kernel.run("print(os.getpid())"))
        setup = proc_status(pid)
        for i, (name, settings) in enumerate(changes):
            start = time.perf_counter()
            kernel.run(f"_change({name}, **{settings!r})")
            samples.append(dict(proc_status(pid), seconds=time.perf_counter() - start))
            if progress:
                progress(i, name, settings, samples[-1])
            if i == 0:
                before = dict(kernel.state(), native_threads=samples[0]["Threads"])
        after = dict(kernel.state(), native_threads=samples[-1]["Threads"])
        return {"before": before, "after": after, "setup": setup, "samples": samples}
    finally:
        kernel.close()


def summary(run, last=10):
    """Peak, setup, steady-state and last-``last`` growth (bytes) of a ``drive`` result."""
    rss = [s["VmRSS"] for s in run["samples"]]
    return {"peak": run["samples"][-1]["VmHWM"], "setup": run["setup"]["VmRSS"], "final": rss[-1],
            "last_growth": rss[-1] - rss[-1 - last], "last_max": max(rss[-last:]),
            "seconds": sum(s["seconds"] for s in run["samples"])}


def _print_progress(i, name, settings, sample):
    print(f"{i:3d} {name:5s} {str(settings)[:60]:60s} {sample['seconds']:6.1f} s  RSS {sample['VmRSS'] / MB:6.0f} MB"
          f"  HWM {sample['VmHWM'] / MB:6.0f} MB  threads {sample['Threads']}", flush=True)


# ------------------------------------------------------------------------------------ the bench section
def add_arguments(parser):
    parser.add_argument("--explorer-changes", type=int, default=100, help="heavy explorer changes (default 100)")


def configure(args, parser):
    if args.quick:
        args.explorer_changes = 10


def explorer_rows(changes, run):
    """Per explorer: RSS after its changes (median [min-max] of its last 10), the highest peak its changes set."""
    rows, samples = [], run["samples"]
    for name in ("image", "text"):
        mine = [i for i, (who, _) in enumerate(changes) if who == name]
        rss = sorted(samples[i]["VmRSS"] / MB for i in mine[-10:])
        raised = [samples[i]["VmHWM"] for i in mine if samples[i]["VmHWM"] > (samples[i - 1]["VmHWM"] if i else 0)]
        rows.append([f"{name} explorer ({len(mine)} changes)", f"{rss[len(rss) // 2]:.0f} [{rss[0]:.0f}-{rss[-1]:.0f}]",
                     f"{max(raised) / MB:.0f}" if raised else "none (below the other's)"])
    return rows


def run(args, rep, tmp):
    from bench.harness import GB
    changes = heavy_changes(args.explorer_changes)
    result = drive(changes)
    s = summary(result)
    rep.table(f"Explorer memory: {len(changes)} heavy changes in one fresh kernel (bench/explorer_memory.py)",
              ["after the changes of", "steady-state RSS, MB (last 10)", "highest peak they set, MB"],
              explorer_rows(changes, result),
              f"Kernel RSS after building both explorers {s['setup'] / MB:.0f} MB, after the last change "
              f"{s['final'] / MB:.0f} MB; peak (VmHWM) {s['peak'] / MB:.0f} MB; RSS over the last 10 changes "
              f"{s['last_growth'] / MB:+.0f} MB; {s['seconds']:.0f} s for all changes. Mix: image and text take turns; "
              "image: SmoothGrad 50 samples at two noise levels, IG 200 steps every 34th change; text: two "
              "~55-word sentences and both together (~130 tokens).")
    rep.goal(f"explorers: kernel peak < 2 GB over {len(changes)} heavy changes", f"{s['peak'] / GB:.2f} GB",
             s["peak"] < 2 * GB)
    rep.goal("explorers: RSS over the last 10 changes rises < 50 MB", f"{s['last_growth'] / MB:+.0f} MB",
             s["last_max"] - result["samples"][-11]["VmRSS"] < 50 * MB if len(changes) > 10 else "info")


def _append(path, rep):
    """This section alone as markdown, appended to ``path`` (RESULTS.md between two full runs)."""
    import datetime
    from bench.harness import loadavg
    title, header, rows, note, load = rep.sections[0]
    lines = ["", f"## {title}", "", f"* Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; "
             f"command: `python bench/explorer_memory.py --append {path}`; load average at end "
             f"{' / '.join(f'{v:.2f}' for v in loadavg())}", "", "| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)] + ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    lines += ["", note, ""] + [f"* {g}: {m} -> {ok}" for g, m, ok in rep.goals] + [""]
    with open(path, "a") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    import argparse
    sys.path.insert(0, str(ROOT))
    from bench.report import Report
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--root", default=str(ROOT), help="the tree whose xai_helpers the kernel imports")
    parser.add_argument("--append", help="append the section to this markdown file (bench/RESULTS.md)")
    args = parser.parse_args()
    if args.append:
        report = Report()
        run(argparse.Namespace(explorer_changes=args.changes), report, None)
        _append(args.append, report)
    else:
        result = drive(heavy_changes(args.changes), root=args.root, progress=_print_progress)
        print({k: (f"{v / MB:.0f} MB" if k != "seconds" else f"{v:.0f} s") for k, v in summary(result).items()})
        print("after the first change", result["before"], "\nafter the last", result["after"])
