"""Section "notebooks": every notebook of the course executed in a fresh kernel, as a learner's machine would.

Found by glob -- every ``*.ipynb`` under notebooks/ (subfolders too, so 4.4a/4.4b count separately) plus
solutions/ and exercises/ -- and executed with nbclient in a fresh process (kernel = this Python, offline
settings of `make test`). Per notebook: wall time, peak RSS of the kernel's process tree (psutil polling
every 0.1 s) and the kernel's own ``ru_maxrss``, the three slowest cells. Goals per notebook: at most 90 s
and below 2 GB (Binder's memory limit).
"""
import datetime
import os
import resource
import sys
import time
from pathlib import Path

from bench.harness import GB, ROOT, maxrss_bytes, spawn
from bench.report import fmt_gb

NAME, ORDER = "notebooks", 40
FOLDERS = ("notebooks", "solutions", "exercises")
GOALS = {"nb_slowest_s": 90.0, "nb_total_s": 8 * 60.0, "nb_peak_bytes": 2 * GB,
         "nb_class_bytes": 1.5 * GB}   # a learner's share when a class shares one machine (README, teachers)


def add_arguments(parser):
    parser.add_argument("--notebooks", default="", help="only notebooks whose file name contains one of these")
    parser.add_argument("--notebook-timeout", type=int, default=900)


def configure(args, parser):
    args.notebooks = [s for s in args.notebooks.split(",") if s]


def find_notebooks(selectors=()):
    """Every notebook of the course (a glob, not a list), optionally those whose name has a selector."""
    paths = sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
    return [p for p in paths if not selectors or any(s in p.name for s in selectors)]


def kernel_env():
    """Environment of a notebook kernel: offline as in `make test` (conftest.py), 2 threads, and matplotlib's
    inline backend, as in a learner's JupyterLab. `make test` runs Agg, where figures stay open until the kernel
    ends (4.5 holds 23 of them, ~85 MB, by its last cells); the inline backend renders each cell's figures and
    closes them, so the time and memory measured here are a learner's."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    guard = ROOT / "tests" / "offline_guard"
    env.update(XAI_BLOCK_NETWORK="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1",
               PYTHONPATH=os.pathsep.join(p for p in (str(guard), env.get("PYTHONPATH")) if p))
    env.setdefault("TORCH_NUM_THREADS", "2")
    return env


def run_notebook(path, timeout):
    """Worker: execute one notebook -> {"seconds", "error", "cells": [...], "kernel_maxrss"}."""
    import nbformat
    sys.path.insert(0, str(ROOT / "tools"))
    from notebook_client import NotebookClient  # nbclient's, without the Output-widget stall (its docstring)
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(path.parent)}})
    error, start = None, time.perf_counter()
    try:
        client.execute()
    except Exception as err:  # a failing cell: report it, keep the timings up to there
        text = str(err).strip()
        error = f"{type(err).__name__}: {text.splitlines()[-1] if text else ''}"[:300]
    return {"seconds": time.perf_counter() - start, "error": error, "cells": _cell_times(nb),
            "kernel_maxrss": maxrss_bytes(resource.RUSAGE_CHILDREN)}


def _cell_times(nb):
    cells = []
    for i, cell in enumerate(nb.cells):
        ex = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type == "code" and "iopub.execute_input" in ex and "shell.execute_reply" in ex:
            a = datetime.datetime.fromisoformat(ex["iopub.execute_input"].replace("Z", "+00:00"))
            b = datetime.datetime.fromisoformat(ex["shell.execute_reply"].replace("Z", "+00:00"))
            first = next((ln for ln in cell.source.splitlines() if ln.strip() and not ln.startswith("#")), "")
            cells.append({"index": i, "seconds": (b - a).total_seconds(), "source": first[:60]})
    return cells


def run(args, rep, tmp):
    paths, results = find_notebooks(args.notebooks), {}
    env = kernel_env()
    for p in paths:
        t = time.perf_counter()
        res = spawn("bench.notebooks:run_notebook", {"path": str(p), "timeout": args.notebook_timeout},
                    env=env, poll_tree=True)
        res["wall"] = time.perf_counter() - t
        if "failed" not in res:
            res["peak"] = max(res["tree_peak"], res["kernel_maxrss"])
            print(f"  notebook {p.relative_to(ROOT)}: {res['seconds']:.1f} s, peak {fmt_gb(res['peak'])}", flush=True)
        results[p.relative_to(ROOT)] = res
    _tables(rep, results)
    if results:
        _goals(rep, results)


def _tables(rep, results):
    rows, slow_rows = [], []
    for rel, res in results.items():
        if "failed" in res:
            rows.append([rel, f"{res['wall']:.1f}", "n/a", "n/a", "FAILED: " + res["failed"][:80]])
            continue
        rows.append([rel, f"{res['seconds']:.1f}", fmt_gb(res["tree_peak"]), fmt_gb(res["kernel_maxrss"]),
                     res["error"] or "ok"])
        for c in sorted(res["cells"], key=lambda c: -c["seconds"])[:3]:
            slow_rows.append([rel.name, c["index"], f"{c['seconds']:.1f}", c["source"]])
    total = sum(r["seconds"] for r in results.values() if "failed" not in r)
    rep.table("Notebooks (nbclient, fresh kernel each, offline settings of `make test`)",
              ["notebook", "seconds", "peak RSS kernel tree (polled)", "kernel ru_maxrss", "status"], rows,
              f"{len(results)} notebooks, execution total {total:.1f} s (kernel start included; unit tests and "
              "pytest overhead not included)")
    rep.table("Three slowest cells per notebook", ["notebook", "cell #", "seconds", "first code line"], slow_rows)


def _goals(rep, results):
    ran = {rel: r for rel, r in results.items() if "failed" not in r}
    failures = [str(rel) for rel, r in results.items() if rel not in ran or r["error"]]
    slowest = max((r["seconds"] for r in ran.values()), default=0.0)
    total = sum(r["seconds"] for r in ran.values())
    worst = max((r["peak"] for r in ran.values()), default=0)
    limit_s, limit_b = GOALS["nb_slowest_s"], GOALS["nb_peak_bytes"]
    for rel, r in results.items():
        if rel not in ran:
            rep.goal(f"{rel}: <= {limit_s:.0f} s and peak RSS < {fmt_gb(limit_b)}", "failed", False)
            continue
        rep.goal(f"{rel}: <= {limit_s:.0f} s and peak RSS < {fmt_gb(limit_b)}",
                 f"{r['seconds']:.1f} s, {fmt_gb(r['peak'])}" + ("; a cell failed" if r["error"] else ""),
                 not r["error"] and r["seconds"] <= limit_s and r["peak"] < limit_b)
    rep.goal(f"slowest notebook <= {limit_s:.0f} s", f"{slowest:.1f} s", slowest <= limit_s and not failures)
    rep.goal("all notebooks <= 8 min (sum of executions; proxy for the nbval run)", f"{total:.1f} s",
             total <= GOALS["nb_total_s"] and not failures)
    rep.goal(f"peak RSS < {fmt_gb(limit_b)} per notebook (Binder's limit)", fmt_gb(worst), worst < limit_b)
    rep.goal(f"peak RSS <= {fmt_gb(GOALS['nb_class_bytes'])} per notebook (a learner's share in a class on one machine)",
             fmt_gb(worst), worst <= GOALS["nb_class_bytes"] and not failures)
    if failures:
        rep.goal("every notebook executes without error", ", ".join(failures), False)
