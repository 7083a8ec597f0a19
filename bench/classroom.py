"""Section "classroom": a class at once on one machine, through the local JupyterHub (tools/hub/).

For each class size N of ``--classroom-learners`` (default 1,2,4,8) the learners xai-bench-learner1..N (the
benchmark's own users, so that a class or the hub system test can run beside it) work at the same time, each as
a real Unix user through the hub, as JupyterLab would drive it:

* the hub (tools/hub/classroom.py: LocalProcessSpawner, each server under the learner's own uid in the mount
  namespace of tools/hub/run_as.sh) starts each learner's single-user server on a POST to its REST API
  (``/hub/api/users/NAME/server``, the learner's own hub token);
* through the proxy, with that token, the learner's server receives lesson 4.5 through the contents API
  (``PUT /user/NAME/api/contents/4.5_end_to_end.ipynb``, the learner's copy in their home) and opens it as
  JupyterLab does (``POST /user/NAME/api/sessions``: the server starts the kernel, under the learner's uid);
* each code cell goes as an ``execute_request`` over the kernel's websocket (``/user/NAME/api/kernels/ID/
  channels``, the JSON protocol JupyterLab speaks), one after the other, waiting for the reply and the kernel's
  idle status; a cell that errors is counted and the next one still runs (as "Run All" with errors shown);
* then, in the same kernel, the image explorer as the lessons use it (``xh.explore_image(..., interactive=True)``)
  receives ``--classroom-explorer-changes`` heavy changes (bench/explorer_memory.py's image changes: IG with 200
  steps, SmoothGrad with 50 samples), each an ``explorer.update(...)`` followed by a wait for the redraw.

Why this route and not nbclient: nbclient starts its own local kernel (as root, outside the hub); here every
byte goes through the proxy, the learner's server and their kernel, as in a class. While the class works, this
process (root) samples every 0.5 s: each kernel's VmHWM and that of its child processes (/proc/PID/status), the
servers' and the hub's and proxy's RSS, and the machine's memory in use (MemTotal - MemAvailable, /proc/meminfo).
Per learner: server start, lesson and explorer seconds, the kernel tree's CPU seconds (utime + stime), cells
that errored, whether the kernel died. Torch threads per kernel: ``--classroom-threads`` (OMP_NUM_THREADS,
MKL_NUM_THREADS, passed to every user's processes by the hub). Needs root (real users); skipped with the reason
otherwise. ``--only classroom`` appends its tables to bench/RESULTS.md instead of rewriting the file.
"""
import concurrent.futures
import json
import os
import pwd
import secrets
import shlex
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from bench.explorer_memory import heavy_changes
from bench.harness import GB, ROOT, loadavg

NAME, ORDER = "classroom", 80
LESSON = ROOT / "notebooks" / "4.5_end_to_end.ipynb"
MB = 1024 ** 2
sys.path.insert(0, str(ROOT / "tools" / "hub"))
import classroom as hub_tools  # noqa: E402  (tools/hub/classroom.py)

#: The benchmark's learners are users of their own (created and removed by the run): a class on `make hub` or the
#: hub system test (xai-learner1..N) may run at the same time without either stopping the other's processes.
LEARNER = "xai-bench-learner{}"

EXPLORER_SETUP = ("import xai_helpers as xh\n"
                  "_bench_explorer = xh.explore_image('cat', interactive=True)\n")
EXPLORER_CHANGE = ("_bench_explorer.update(**{settings!r})\n"
                   "assert _bench_explorer.runner.wait(600), 'the explorer did not finish'\n"
                   "assert _bench_explorer.last_error is None, _bench_explorer.last_error\n")
#: What the capacity estimate keeps free on a node: the operating system, page cache, a teacher's server.
NODE_RESERVE = 2 * GB
#: Each learner's measured peak (kernel tree + their server) times this: other lessons, other runs, a second tab.
SAFETY = 1.25


# ------------------------------------------------------------------------------------ command line
def add_arguments(parser):
    parser.add_argument("--classroom-learners", default="",
                        help="class sizes, one after the other on one hub (default 1,2,4,8; --quick: 1)")
    parser.add_argument("--classroom-cells", type=int, default=0,
                        help="run only the first K code cells of the lesson (0: all; --quick: 3)")
    parser.add_argument("--classroom-explorer-changes", type=int, default=4,
                        help="heavy image-explorer changes after the lesson (--quick: 1)")
    parser.add_argument("--classroom-threads", type=int, default=1, help="torch threads per kernel (default 1)")
    parser.add_argument("--classroom-lesson", default=str(LESSON), help="the notebook every learner runs")
    parser.add_argument("--classroom-cell-timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--classroom-append", default="",
                        help="append this section's tables to this markdown file (--only classroom: RESULTS.md)")


def configure(args, parser):
    sizes = args.classroom_learners or ("1" if args.quick else "1,2,4,8")
    args.classroom_learners = [int(n) for n in str(sizes).split(",") if n.strip()]
    if args.quick:
        args.classroom_cells = args.classroom_cells or 3
        args.classroom_explorer_changes = min(args.classroom_explorer_changes, 1)
    if args.only == [NAME] and args.results and Path(args.results).resolve() == (ROOT / "bench" / "RESULTS.md"):
        args.classroom_append = args.classroom_append or args.results   # RESULTS.md keeps the other sections
        args.results = ""


def lesson_cells(path, k=0):
    """The code cells of the notebook at ``path`` (the first ``k``; 0: all) -> [source]."""
    import nbformat
    cells = [c.source for c in nbformat.read(str(path), as_version=4).cells if c.cell_type == "code"]
    return cells[:k] if k else cells


def explorer_cells(n_changes):
    """The explorer part of a learner's session: build the image explorer, then ``n_changes`` heavy changes."""
    changes = [s for who, s in heavy_changes(2 * n_changes) if who == "image"][:n_changes]
    return [EXPLORER_SETUP] + [EXPLORER_CHANGE.format(settings=s) for s in changes]


# ------------------------------------------------------------------------------- the hub, as a client
class Hub:
    """A running classroom hub: REST calls through its proxy with the service token or a user's token."""

    def __init__(self, settings):
        self.settings, self.url = settings, f"http://127.0.0.1:{settings['port']}"
        self.tokens = {}

    def call(self, method, path, token=None, data=None, timeout=300):
        headers = {"Authorization": f"token {token or self.settings['service_token']}"}
        body = None
        if data is not None:
            body, headers["Content-Type"] = json.dumps(data).encode(), "application/json"
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def token(self, name):
        """The user's own API token (as made on the hub's token page)."""
        if name not in self.tokens:
            self.tokens[name] = self.call("POST", f"/hub/api/users/{name}/tokens", data={"note": "bench"})["token"]
        return self.tokens[name]

    def start_server(self, name, timeout=600):
        """POST the learner's server (as the hub's home page does) and wait until it is ready -> seconds."""
        begun = time.time()
        self.call("POST", f"/hub/api/users/{name}/server", token=self.token(name))
        ready = lambda: self.call("GET", f"/hub/api/users/{name}", token=self.token(name))["servers"]  # noqa: E731
        while not ready().get("", {}).get("ready"):
            if time.time() - begun > timeout:
                raise RuntimeError(f"{name}'s server did not start in {timeout} s")
            time.sleep(0.2)
        return time.time() - begun

    def stop_server(self, name):
        self.call("DELETE", f"/hub/api/users/{name}/server", token=self.token(name))
        for _ in range(600):
            if not self.call("GET", f"/hub/api/users/{name}", token=self.token(name))["servers"]:
                return
            time.sleep(0.2)


# ------------------------------------------------------------------------------ a kernel over its websocket
class RemoteKernel:
    """A kernel of the learner's server, opened as JupyterLab opens a notebook (a session), driven over its
    websocket with the Jupyter messaging protocol (JSON)."""

    def __init__(self, hub, name, notebook_path):
        import websocket
        self.hub, self.name, self.token = hub, name, hub.token(name)
        base = f"/user/{name}/api"
        model = {"path": notebook_path, "type": "notebook", "name": "", "kernel": {"name": "python3"}}
        self.session = hub.call("POST", f"{base}/sessions", token=self.token, data=model)
        self.kernel_id, self.session_id = self.session["kernel"]["id"], uuid.uuid4().hex
        url = (f"ws://127.0.0.1:{hub.settings['port']}{base}/kernels/{self.kernel_id}/channels"
               f"?session_id={self.session_id}")
        self.ws = websocket.create_connection(url, header=[f"Authorization: token {self.token}"], timeout=5)
        self.pid = None

    def _request(self, code):
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "username": self.name, "session": self.session_id, "msg_type": "execute_request",
                  "version": "5.3", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False,
                   "stop_on_error": False}
        self.ws.send(json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": content,
                                 "channel": "shell", "buffers": []}))
        return msg_id

    def execute(self, code, timeout):
        """Run CODE -> {"status": ok | error | dead | timeout, "seconds", "stdout", "error"}."""
        import websocket
        begun, msg_id = time.time(), self._request(code)
        out = {"status": None, "stdout": "", "error": ""}
        idle = False
        while out["status"] is None or not idle:
            try:
                raw = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                if self.pid and not _alive(self.pid):
                    return dict(out, status="dead", seconds=time.time() - begun)
                if time.time() - begun > timeout:
                    return dict(out, status="timeout", seconds=time.time() - begun)
                continue
            except (websocket.WebSocketException, OSError):
                return dict(out, status="dead", seconds=time.time() - begun)
            if isinstance(raw, bytes):
                continue   # a message with binary buffers (widgets): nothing this run needs
            idle = _handle(json.loads(raw), msg_id, out) or idle
            if out["status"] == "dead":
                break
        return dict(out, seconds=time.time() - begun)

    def close(self, died=False):
        """Close the websocket and shut the session's kernel down (a dead kernel's session may refuse: the
        server is stopped next anyway)."""
        self.ws.close()
        try:
            self.hub.call("DELETE", f"/user/{self.name}/api/sessions/{self.session['id']}", token=self.token)
        except urllib.error.HTTPError:
            if not died:
                raise


def _handle(msg, msg_id, out):
    """Fold one message into OUT -> True when it is the kernel's idle status after our request."""
    kind, content = msg.get("msg_type"), msg.get("content", {})
    if kind == "status" and content.get("execution_state") in ("dead", "restarting"):
        out["status"] = "dead"
        return False
    if msg.get("parent_header", {}).get("msg_id") != msg_id:
        return False
    if kind == "stream" and content.get("name") == "stdout":
        out["stdout"] += content.get("text", "")
    elif kind == "error":
        out["error"] = f"{content.get('ename')}: {content.get('evalue')}"[:300]
    elif kind == "execute_reply":
        out["status"] = content.get("status", "error")
        if out["status"] == "error" and not out["error"]:
            out["error"] = f"{content.get('ename')}: {content.get('evalue')}"[:300]
    return kind == "status" and content.get("execution_state") == "idle"


def _alive(pid):
    try:
        return Path(f"/proc/{pid}/status").read_text().find("State:\tZ") < 0
    except OSError:
        return False


# ------------------------------------------------------------------------------------- measuring
def proc_fields(pid, keys=("VmHWM", "VmRSS")):
    """{key: bytes} from /proc/PID/status ({} when the process is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {k: int(v.split()[0]) * 1024 for k, _, v in (ln.partition(":") for ln in lines) if k in keys}


def tree_cpu_seconds(pid):
    """utime + stime of PID and its descendants, in seconds (0 when gone)."""
    import psutil
    try:
        procs = [psutil.Process(pid)]
        procs += procs[0].children(recursive=True)
    except psutil.Error:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def memory_in_use():
    info = {k: int(v.split()[0]) * 1024 for k, _, v in
            (ln.partition(":") for ln in Path("/proc/meminfo").read_text().splitlines())}
    return info["MemTotal"] - info["MemAvailable"]


class Sampler(threading.Thread):
    """Every ``every`` s: each registered kernel's tree peak (its VmHWM + its children's), each learner's server,
    the hub's process tree minus the servers, and the machine's memory in use; keeps the maxima."""

    def __init__(self, hub_pid, every=0.5):
        super().__init__(daemon=True)
        self.hub_pid, self.every, self.kernels, self.servers = hub_pid, every, {}, {}
        self.peaks, self.machine_peak, self.hub_peak, self.stopped = {}, 0, 0, threading.Event()

    def run(self):
        while not self.stopped.is_set():
            self.sample()
            self.stopped.wait(self.every)

    def sample(self):
        import psutil
        for name, pid in list(self.kernels.items()):
            try:
                kids = psutil.Process(pid).children(recursive=True)
            except psutil.Error:
                continue
            tree = proc_fields(pid).get("VmHWM", 0) + sum(proc_fields(k.pid).get("VmHWM", 0) for k in kids)
            self.peaks[("kernel", name)] = max(self.peaks.get(("kernel", name), 0), tree)
        self._sample_hub()
        self.machine_peak = max(self.machine_peak, memory_in_use())

    def _sample_hub(self):
        """The servers (jupyterhub-singleuser, by user) and the rest of the hub's tree (hub, proxy)."""
        import psutil
        try:
            tree = [psutil.Process(self.hub_pid)] + psutil.Process(self.hub_pid).children(recursive=True)
        except psutil.Error:
            return
        rest = 0
        for p in tree:
            try:
                rss, user, cmd = p.memory_info().rss, p.username(), " ".join(p.cmdline())
            except psutil.Error:
                continue
            if "jupyterhub-singleuser" in cmd and user.startswith(LEARNER.format("")):
                self.peaks[("server", user)] = max(self.peaks.get(("server", user), 0), rss)
            elif user == "root" and ("jupyterhub" in cmd or "configurable-http-proxy" in cmd):
                rest += rss
        self.hub_peak = max(self.hub_peak, rest)


# ------------------------------------------------------------------------------------- one learner
def learner_session(hub, sampler, name, cells, notebook, cell_timeout, class_start):
    """One learner: server up, lesson opened and run cell by cell, then the explorer -> their numbers."""
    rec = {"name": name, "errors": [], "died": False}
    try:
        rec["server_s"] = hub.start_server(name)
        _run_notebook(hub, sampler, rec, cells, notebook, cell_timeout)
    except Exception as err:   # a server or kernel that did not come, a refused request: a failure, recorded
        import traceback
        rec["errors"].append(f"{type(err).__name__}: {err}"[:300])
        rec["traceback"] = traceback.format_exc()[-2000:]
    finally:
        rec["done_s"] = time.time() - class_start
        hub.stop_server(name)
    return rec


def _run_notebook(hub, sampler, rec, cells, notebook, cell_timeout):
    """The learner's copy of the lesson, opened in a kernel: its cells, then the explorer's, one after the other."""
    import psutil
    name = rec["name"]
    hub.call("PUT", f"/user/{name}/api/contents/{notebook.name}", token=hub.token(name),
             data={"type": "notebook", "format": "json", "content": json.loads(notebook.read_text())})
    kernel = RemoteKernel(hub, name, notebook.name)
    try:
        first = kernel.execute("import os; print(os.getpid())", 600)
        kernel.pid = int(first["stdout"].split()[0])
        rec["kernel_uid_is_learner"] = psutil.Process(kernel.pid).uids().real == pwd.getpwnam(name).pw_uid
        sampler.kernels[name] = kernel.pid
        for part, sources in (("lesson", cells["lesson"]), ("explorer", cells["explorer"])):
            begun = time.time()
            for i, code in enumerate(sources):
                res = kernel.execute(code, cell_timeout)
                if res["status"] != "ok":
                    rec["errors"].append(f"{part} cell {i}: {res['status']} {res['error']}".strip())
                if res["status"] in ("dead", "timeout"):
                    rec["died"] = res["status"] == "dead"
                    break
            rec[f"{part}_s"] = time.time() - begun
            if rec["died"]:
                break
        rec["cpu_s"] = None if rec["died"] else tree_cpu_seconds(kernel.pid)
        sampler.sample()
    finally:
        sampler.kernels.pop(name, None)
        kernel.close(died=rec["died"])


def run_class(hub, hub_pid, n, cells, notebook, cell_timeout):
    """N learners at once -> {"learners": [...], "class_s", "machine_*", "hub_peak", "load"}."""
    names = hub_tools.learners(n, LEARNER)
    for name in names:
        hub.token(name)
    sampler = Sampler(hub_pid)
    baseline = memory_in_use()
    sampler.start()
    begun = time.time()
    try:
        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            futures = [pool.submit(learner_session, hub, sampler, name, cells, notebook, cell_timeout, begun)
                       for name in names]
            learners = []
            for name, f in zip(names, futures):
                try:
                    learners.append(f.result())
                except Exception as err:   # a learner whose server or kernel never came: a failure, not a crash
                    learners.append({"name": name, "errors": [f"{type(err).__name__}: {err}"[:300]], "died": True})
    finally:
        sampler.stopped.set()
        sampler.join()
    for rec in learners:
        rec["kernel_peak"] = sampler.peaks.get(("kernel", rec["name"]))
        rec["server_peak"] = sampler.peaks.get(("server", rec["name"]))
    return {"n": n, "learners": learners, "class_s": time.time() - begun, "machine_baseline": baseline,
            "machine_peak": sampler.machine_peak, "hub_peak": sampler.hub_peak, "load": loadavg()}


# ------------------------------------------------------------------------------------- the section
def hub_env(threads):
    """The hub's environment, which every user's process inherits the offline switches and threads from."""
    env = dict(os.environ)
    guard = ROOT / "tests" / "offline_guard"
    env.update(XAI_BLOCK_NETWORK="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1",
               OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               PYTHONPATH=os.pathsep.join(p for p in (str(guard), str(ROOT), env.get("PYTHONPATH")) if p))
    return env


def classroom_users_busy():
    """The ids of processes the benchmark's learners run now (another run of this section is going on: the two
    would share those users and, at its end, one would stop the other's processes) -> [pid]."""
    import psutil
    return [p.pid for p in psutil.process_iter(["username"])
            if (p.info["username"] or "").startswith(LEARNER.format(""))]


def measure(sizes, cells, notebook, threads=1, cell_timeout=3600, progress=print):
    """Start one hub with max(sizes) learners, run each class size in turn -> [run_class result]."""
    busy = classroom_users_busy()
    if busy:
        raise RuntimeError(f"the benchmark's learners run processes already ({busy[:5]}): another run of the "
                           "classroom section is going on; run this one when it is done")
    state = Path(tempfile.mkdtemp(prefix="xai-bench-hub-", dir="/tmp"))
    settings, process, results = None, None, []
    try:
        settings = hub_tools.prepare(state, n_learners=max(sizes), port=hub_tools.free_base_port(),
                                     service_token=secrets.token_hex(24), learner=LEARNER)
        process = hub_tools.start_hub(settings, env=hub_env(threads))
        hub = Hub(settings)
        for n in sizes:
            results.append(run_class(hub, process.pid, n, cells, notebook, cell_timeout))
            progress(summary_line(results[-1]))
    finally:
        if process is not None:   # the teacher (no process here) may be a running class's: left alone, kept
            hub_tools.stop_hub(process, settings, names=settings["learners"])
        if settings is not None:
            hub_tools.remove_users([u for u in settings["created_users"] if u in settings["learners"]])
        shutil.rmtree(state, ignore_errors=True)
    return results


def summary_line(r):
    done = [x for x in r["learners"] if "done_s" in x]
    return (f"  classroom N={r['n']}: class {r['class_s']:.0f} s; learners "
            + ", ".join(f"{x['done_s']:.0f} s/{(x.get('kernel_peak') or 0) / GB:.2f} GB" for x in done)
            + f"; machine peak {r['machine_peak'] / GB:.1f} GB (baseline {r['machine_baseline'] / GB:.1f}); "
            f"failures {sum(len(x['errors']) for x in r['learners'])}; load {r['load']}")


def run(args, rep, tmp):
    reason = hub_tools.can_switch_users()
    if reason:
        rep.goal("classroom section ran", f"skipped: {reason}", "info")
        return
    notebook = Path(args.classroom_lesson)
    cells = {"lesson": lesson_cells(notebook, args.classroom_cells),
             "explorer": explorer_cells(args.classroom_explorer_changes)}
    start_load = loadavg()
    results = measure(args.classroom_learners, cells, notebook, args.classroom_threads, args.classroom_cell_timeout)
    context = {"lesson": notebook, "cells": len(cells["lesson"]), "changes": args.classroom_explorer_changes,
               "threads": args.classroom_threads, "load_start": start_load, "load_end": loadavg()}
    tables(rep, results, context)
    if args.classroom_append:
        append_markdown(args.classroom_append, rep, context, sys.argv[1:])


def tables(rep, results, context):
    rows, learner_rows = [], []
    for r in results:
        ok = [x for x in r["learners"] if "done_s" in x]
        cpu = sum(x.get("cpu_s") or 0 for x in ok)
        rows.append([r["n"], f"{r['class_s']:.0f}", _spread([x["done_s"] for x in ok], "{:.0f}"),
                     _spread([x.get("cpu_s") for x in ok], "{:.0f}"), f"{cpu / r['class_s']:.2f}",
                     f"{max((x.get('kernel_peak') or 0) for x in r['learners']) / GB:.2f}",
                     f"{r['machine_peak'] / GB:.2f} ({r['machine_baseline'] / GB:.2f})",
                     sum(len(x["errors"]) for x in r["learners"]), sum(bool(x["died"]) for x in r["learners"]),
                     " / ".join(f"{v:.1f}" for v in r["load"])])
        for x in r["learners"]:
            learner_rows.append(learner_row(r["n"], x))
    rep.table(f"A class at once through the hub: {Path(context['lesson']).name} ({context['cells']} code cells) then "
              f"the image explorer ({context['changes']} heavy changes), {context['threads']} torch thread(s) per "
              "kernel (bench/classroom.py)",
              ["N", "class s", "learner s, median [min-max]", "kernel CPU s per learner", "cores busy",
               "largest kernel peak GB", "machine in use at peak GB (before)", "cells failed", "kernels died",
               "load at end"], rows, capacity_note(results))
    rep.table("Each learner (classroom)", ["N", "learner", "server start s", "lesson s", "explorer s", "kernel CPU s",
                                           "kernel tree peak GB", "server RSS MB", "own uid", "failures"],
              learner_rows)
    _goals(rep, results)


def learner_row(n, x):
    fmt = lambda key, f="{:.0f}": f.format(x[key]) if x.get(key) is not None else "n/a"  # noqa: E731
    return [n, x["name"], fmt("server_s", "{:.1f}"), fmt("lesson_s"), fmt("explorer_s"), fmt("cpu_s"),
            f"{x['kernel_peak'] / GB:.2f}" if x.get("kernel_peak") else "n/a",
            f"{x['server_peak'] / MB:.0f}" if x.get("server_peak") else "n/a",
            {True: "yes", False: "NO"}.get(x.get("kernel_uid_is_learner"), "n/a"),
            "; ".join(x["errors"])[:200] or "none"]


def _spread(values, f):
    values = sorted(v for v in values if v is not None)
    if not values:
        return "n/a"
    return f"{f.format(values[len(values) // 2])} [{f.format(values[0])}-{f.format(values[-1])}]"


def capacity(results, node_gb):
    """Learners per node of NODE_GB: (node - NODE_RESERVE - hub) / (SAFETY * (kernel peak + server)), floored,
    from the largest per-learner peaks measured -> (learners, the arithmetic as text)."""
    learners = [x for r in results for x in r["learners"] if x.get("kernel_peak")]
    if not learners:
        return None, "no learner finished"
    kernel = max(x["kernel_peak"] for x in learners)
    server = max((x.get("server_peak") or 0) for x in learners)
    hub = max(r["hub_peak"] for r in results)
    per = SAFETY * (kernel + server)
    n = max(0, int((node_gb * GB - NODE_RESERVE - hub) // per))
    return n, (f"({node_gb} GB - {NODE_RESERVE / GB:.0f} GB reserve - {hub / GB:.2f} GB hub and proxy) / "
               f"({SAFETY} x ({kernel / GB:.2f} GB kernel + {server / GB:.2f} GB server)) = {n}")


def capacity_note(results):
    parts = []
    for node in (16, 64):
        n, text = capacity(results, node)
        parts.append(f"{node} GB node: {text} learners")
    return ("Class s: from the first server request to the last learner done; learner s: their own, server "
            "start included; cores busy: the kernels' CPU seconds / class seconds. Machine in use: MemTotal - "
            "MemAvailable, the whole (shared) machine, with its value before the class in brackets. Capacity "
            "from the largest peaks measured (all learners peaking at once): " + "; ".join(parts) + ".")


def _goals(rep, results):
    failures = sum(len(x["errors"]) for r in results for x in r["learners"])
    rep.goal("classroom: every learner's cells ran and no kernel died", f"{failures} failure(s)", failures == 0)
    own = all(x.get("kernel_uid_is_learner") for r in results for x in r["learners"])
    rep.goal("classroom: every kernel ran under its learner's own uid", "yes" if own else "no", own)
    for node in (16, 64):
        rep.goal(f"classroom: learners per {node} GB node (info)", capacity(results, node)[1], "info")


def append_markdown(path, rep, context, argv):
    """This section's tables and goals, appended to PATH (RESULTS.md keeps the other sections)."""
    import datetime
    lines = ["", f"## A class at once on one machine (bench/run.py --only classroom)", "",
             f"* Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; command: "
             f"`python bench/run.py {shlex.join(argv)}`; load average at start "
             f"{' / '.join(f'{v:.2f}' for v in context['load_start'])}, at end "
             f"{' / '.join(f'{v:.2f}' for v in context['load_end'])}; {os.cpu_count()} cores."]
    for title, header, rows, note, _ in [s for s in rep.sections if "classroom" in s[0]]:
        lines += ["", f"### {title}", "", "| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
        if note:
            lines += ["", note]
    lines += [""] + [f"* {g}: {m} -> {s}" for g, m, s in rep.goals if g.startswith("classroom")] + [""]
    with open(path, "a") as f:
        f.write("\n".join(lines))
