"""Measurement machinery shared by every section: one process per measurement, interleaved rounds,
paired ratios, and picking a default from what was measured.

* ``spawn("bench.section:function", params)`` runs ``function(**params)`` in a fresh Python process
  (``python -m bench.harness``) and returns its dict; the process's peak RSS is its own.
* ``measure(run, warm, device)`` (inside such a function) times one call after a warm-up.
* ``interleaved_rounds`` runs every variant once per round, round after round, so machine load hits all
  variants alike; ``Timings.paired`` takes ratios within a round.
* ``fastest_within`` and ``pick_default`` choose a setting (a chunk size, a batch size) from the timings.
"""
import contextlib
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GB = 1024 ** 3
MEMORY_LIMIT = 3 * GB   # a variant above this is never picked as a default
RESULT_PREFIX = "RESULT "


# ------------------------------------------------------------------------ one measurement per process
def spawn(fn, params, threads=0, env=None, poll_tree=False, timeout=None):
    """Run ``fn`` ("package.module:function") with ``params`` in a fresh process -> its result dict,
    ``{"failed": message}`` when it failed, plus ``tree_peak`` (summed RSS of its child processes,
    polled every 0.1 s) when ``poll_tree``."""
    task = json.dumps({"fn": fn, "params": params, "threads": threads})
    proc = subprocess.Popen([sys.executable, "-m", "bench.harness", task], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env=env or dict(os.environ, PYTHONWARNINGS="ignore"))
    tree_peak = _poll_tree(proc) if poll_tree else None
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"failed": f"timed out after {timeout} s"}
    line = next((ln for ln in reversed(stdout.splitlines()) if ln.startswith(RESULT_PREFIX)), None)
    if proc.returncode != 0 or line is None:
        return {"failed": (stderr.strip().splitlines() or ["no output"])[-1][:400]}
    result = json.loads(line[len(RESULT_PREFIX):])
    if poll_tree:
        result["tree_peak"] = tree_peak
    return result


def _poll_tree(proc):
    """Largest summed RSS of ``proc``'s descendants (e.g. a notebook kernel) while it runs."""
    import psutil
    parent, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        total = 0
        with contextlib.suppress(psutil.Error):
            for child in parent.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
        peak = max(peak, total)
        time.sleep(0.1)
    return peak


def call(fn, params, threads=0):
    """What a spawned process does: import ``fn`` ("module:function") and call it with ``params``."""
    if threads:
        import torch
        torch.set_num_threads(int(threads))
    module, name = fn.split(":")
    return getattr(importlib.import_module(module), name)(**params)


def maxrss_bytes(who=resource.RUSAGE_SELF):
    return resource.getrusage(who).ru_maxrss * 1024   # Linux reports kilobytes


def sync(device):
    if str(device).startswith("cuda"):
        import torch
        torch.cuda.synchronize()


def peak_memory(device):
    """Peak memory so far: the process's RSS, plus the CUDA allocator's peak on a GPU."""
    rss = maxrss_bytes()
    if str(device).startswith("cuda"):
        import torch
        return rss + torch.cuda.max_memory_allocated()
    return rss


def measure(run, warm, device):
    """Call ``warm()`` (same tensor shapes as ``run``: first-use costs stay outside), then time ``run()``
    -> (its result, {"seconds", "rss_before", "peak_rss"})."""
    warm()
    sync(device)
    out = {"rss_before": peak_memory(device)}
    start = time.perf_counter()
    result = run()
    sync(device)
    out["seconds"] = time.perf_counter() - start
    out["peak_rss"] = peak_memory(device)
    return result, out


# --------------------------------------------------------------------------- rounds and their numbers
class Timings:
    """Seconds per variant and round (None where not run), peak memory per variant, failures."""

    def __init__(self, repeats):
        self.repeats, self.times, self.peaks, self.failed, self.extra = repeats, {}, {}, {}, {}

    def record(self, key, round_index, result):
        if "failed" in result:
            self.failed[key] = result["failed"]
            return
        self.times.setdefault(key, [None] * self.repeats)[round_index] = result["seconds"]
        self.peaks.setdefault(key, []).append(result["peak_rss"])
        self.extra.setdefault(key, []).append(result)

    def median(self, key):
        return median_range(self.times.get(key, []))

    def peak(self, key):
        return max(self.peaks[key]) if self.peaks.get(key) else None

    def runs(self, key):
        return sum(t is not None for t in self.times.get(key, []))

    def paired(self, a, b):
        """time(a) / time(b) within each round where both ran -> median_range."""
        pairs = zip(self.times.get(a, []), self.times.get(b, []))
        return median_range([ta / tb for ta, tb in pairs if ta is not None and tb is not None])


def interleaved_rounds(run_one, keys_for_round, repeats, after_round=None):
    """Round r runs ``run_one(key, r)`` (-> a spawn result) for each key of ``keys_for_round(r)``, skipping
    keys that failed before. ``after_round(r, timings)`` may return False to stop. -> Timings (with
    ``stopped`` True when stopped early)."""
    timings = Timings(repeats)
    timings.stopped = False
    for r in range(repeats):
        for key in keys_for_round(r):
            if key not in timings.failed:
                timings.record(key, r, run_one(key, r))
        if after_round is not None and after_round(r, timings) is False:
            timings.stopped = True
            break
    return timings


def median_range(values):
    values = [v for v in values if v is not None]
    return (statistics.median(values), min(values), max(values)) if values else None


def fastest_within(timings, keys, limit=MEMORY_LIMIT):
    """Among ``keys`` that ran within ``limit`` bytes: (the fastest by median, {key: median seconds})."""
    medians = {k: timings.median(k)[0] for k in keys if timings.median(k) and timings.peak(k) <= limit}
    return (min(medians, key=medians.get) if medians else None), medians


#: Scores within this fraction of the best are a tie (the rounds' spread is larger): the smaller setting wins.
PICK_TIE = 0.05


def pick_default(per_model, tie=PICK_TIE):
    """One setting for every model: ``per_model`` = {model: {setting: median seconds}} (feasible settings
    only). Each setting scores its mean slowdown relative to each model's own fastest. Settings scoring
    within ``tie`` of the least are tied, and the smallest of them wins: the settings are chunk or batch
    sizes, so the smallest needs the least memory (Binder's 2 GB) for a speed the rounds cannot tell apart.
    -> (choice or None, {setting: score}) over the settings every model could run."""
    common = set.intersection(*(set(p) for p in per_model.values())) if per_model else set()
    score = {s: statistics.mean(p[s] / min(p.values()) for p in per_model.values()) for s in common}
    if not score:
        return None, score
    best = min(score.values())
    return min(s for s in score if score[s] <= best * (1 + tie)), score


def loadavg():
    try:
        return tuple(float(v) for v in Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return os.getloadavg()


def _main(argv):
    task = json.loads(argv[0])
    result = call(task["fn"], task["params"], task.get("threads", 0))
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
