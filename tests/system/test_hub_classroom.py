"""System test: a class on the local JupyterHub (tools/hub/), from release to feedback, offline.

The hub of ``make hub`` starts here on free localhost ports with a teacher and three learners, each a real Unix
user whose server runs under their own uid (tools/hub/classroom.py). Then, as in a class:

* the teacher, in their course folder and as their own uid (as in a terminal of their server), sets this week's
  part of the course's exercises -- Problem 1 of the solutions notebook (four checks, 7 points), the nbgrader
  source (teachers may leave problems out of source/, as the README says for Problem 6; test_nbgrader.py grades
  the whole chapter) -- and runs ``nbgrader generate_assignment`` and ``release_assignment``, while the learners'
  servers start (at once);
* each learner, through the hub (their own API token, their own server): fetches the assignment with the
  Assignment List's REST calls, edits the notebook through the contents API as JupyterLab saves it -- one puts in
  the reference answers, one leaves it blank, one answers 1a and 1c with the reference answers and 1b wrongly
  (the layer of the smallest contrast) and leaves 1d blank -- and submits;
* the teacher runs ``collect``, ``autograde --create`` (all three submissions in one call), ``generate_feedback``
  and ``release_feedback``; the learners fetch their feedback. Meanwhile one learner logs in through the hub in
  headless Chromium, opens the fetched exercises and runs a check cell, which prints its check mark (grading
  keeps one core busy, the browser the other).

Asserted: the autograded points (reference all, blank 0, partial in between: 1a and 1c all, 1b refused, 1d 0),
that every learner got feedback, and the isolation, by real attempts as another learner's uid: it cannot list the
exchange's inbound or feedback folders, nor read a submission or a released feedback file by its full path, the
teacher's course folder, the repository's solutions or git folder or the checkout's .git, or another learner's
home (a released assignment it can read: the control); each learner's server runs in a mount namespace of its own
in which those solutions and git folders are empty (tools/hub/run_as.sh covers them there), while on the disk the
checkout's folders keep their modes and owners (compared before and after); another learner's hub token cannot
reach a learner's server; the browser's check passed. Each phase's seconds are printed (pytest -s): wall seconds,
and [wall, CPU] for the teacher's commands. About 80 s on 2 cores shared with a load average of 7, and about 50 CPU
seconds in all (the autograder's three runs of the notebook 20 of them), so well under that on 2 idle cores.

Skipped with the reason where jupyterhub, the proxy, nbgrader or per-user uids are not available (root outside a
user namespace: tools/offline.sh runs the suite with 'unshare -n' when it is root).
"""
import concurrent.futures
import json
import os
import pwd
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "hub"))
import classroom  # noqa: E402  (tools/hub/classroom.py)
from helpers import RAN_PROMPT, open_notebook, run_menu_until_started, start_notebook_session  # noqa: E402

pytest.importorskip("jupyterhub", reason="jupyterhub is not installed: pip install jupyterhub (in the course's test "
                                         "extra; make test installs it)")
pytest.importorskip("nbgrader", reason="nbgrader is not installed (in the course's test extra)")
PROXY = Path(sys.executable).with_name("configurable-http-proxy")
CHROMIUM = os.environ.get("XAI_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(not PROXY.exists(), reason="the proxy configurable-http-proxy (PyPI's Python port, in the "
                                                  "course's test extra) is not installed next to this Python"),
    pytest.mark.skipif(bool(classroom.can_switch_users()), reason="the classroom needs per-learner Unix users: "
                       + classroom.can_switch_users()),
]

ASSIGNMENT, COURSE = classroom.ASSIGNMENT, classroom.COURSE_ID
SOLUTIONS = classroom.SOLUTIONS
REFERENCE, BLANK, PARTIAL = classroom.learners(3)
GIT_DIR = Path(subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--path-format=absolute", "--git-common-dir"],
                              capture_output=True, text=True).stdout.strip() or ROOT / ".git")
#: This week's assignment: the solutions notebook up to Problem 2 (Problem 1, four checks; the autograder runs
#: each submission once, so every problem more is seconds per learner -- Problem 2 alone doubles the run).
FIRST_LEFT_OUT = "p2"
#: The partial learner answers 1a and 1c with the reference answers and 1b with the wrong layer (the one of the
#: smallest contrast instead of the largest); 1d (written) stays blank.
PARTIAL_CELLS = ("p1a-code", "p1b-code", "p1c-code")
WRONG_1B = ("best_layer = max(contrast_by_layer", "best_layer = min(contrast_by_layer")


class Hub:
    """The running classroom: its URL, settings, and HTTP calls with a token."""

    def __init__(self, settings, process):
        self.settings, self.process = settings, process
        self.state = Path(settings["state"])
        self.url = f"http://127.0.0.1:{settings['port']}"
        self.tokens = {}

    def call(self, method, path, token=None, data=None, form=None, timeout=300):
        body = None
        headers = {"Authorization": f"token {token or self.settings['service_token']}"}
        if data is not None:
            body, headers["Content-Type"] = json.dumps(data).encode(), "application/json"
        elif form is not None:
            body = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def status(self, method, path, token):
        try:
            self.call(method, path, token=token)
        except urllib.error.HTTPError as error:
            return error.code
        return 200

    def token(self, name):
        """An API token of the user NAME (as the user would make on the hub's token page)."""
        if name not in self.tokens:
            self.tokens[name] = self.call("POST", f"/hub/api/users/{name}/tokens", data={"note": "class test"})["token"]
        return self.tokens[name]

    def learner(self, name, action):
        """The Assignment List's request for ACTION (fetch, submit, fetch_feedback), as the learner's page sends it."""
        reply = self.call("POST", f"/user/{name}/assignments/{action}", token=self.token(name),
                          form={"course_id": COURSE, "assignment_id": ASSIGNMENT})
        assert reply.get("success", True), f"{name}: {action} failed:\n{reply.get('value')}"
        return reply

    def log(self):
        return (self.state / "hub.log").read_text(errors="replace")[-4000:]


def _as_user(hub, name, code):
    """Run Python CODE as the Unix user NAME with their environment (as in their server's terminal) -> stdout."""
    env = {**classroom._passthrough(), **classroom.user_env(hub.state, name)}
    done = subprocess.run([*classroom.run_as(hub.state, name), sys.executable, "-c", code], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _modes():
    """{path: (mode, uid, gid)} of this checkout, its solutions/ and .git, the git folder and every worktree's
    solutions/: what the classroom must leave as it found them (it hides them in its users' mount namespaces)."""
    paths = [ROOT, SOLUTIONS.parent, ROOT / ".git", GIT_DIR, *(Path(c[1:]) for c in classroom.covers())]
    return {str(p): (st.st_mode, st.st_uid, st.st_gid) for p in dict.fromkeys(paths) if p.exists()
            for st in [p.stat()]}


MODES_BEFORE = {}


@pytest.fixture(scope="module")
def hub():
    MODES_BEFORE.update(_modes())
    state = Path(tempfile.mkdtemp(prefix="xai-hub-", dir="/tmp"))   # not pytest's tmp_path: the users must reach it
    try:
        settings = classroom.prepare(state, n_learners=3, port=classroom.free_base_port(), service_token=secrets.token_hex(24))
    except BaseException:
        shutil.rmtree(state, ignore_errors=True)
        raise
    env = {**os.environ, "XAI_HUB_STATE": str(state)}
    log = open(state / "hub.log", "w")
    process = subprocess.Popen([str(Path(sys.executable).with_name("jupyterhub")), "-f",
                                str(ROOT / "tools" / "hub" / "jupyterhub_config.py")],
                               cwd=state, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    running = Hub(settings, process)
    begun = time.time()
    try:
        for _ in range(1200):
            try:
                running.call("GET", "/hub/api/", timeout=5)
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail("JupyterHub exited:\n" + running.log())
                time.sleep(0.1)
        else:
            pytest.fail("JupyterHub did not start within 2 minutes:\n" + running.log())
        running.seconds_to_start = round(time.time() - begun, 1)
        yield running
    finally:
        process.send_signal(signal.SIGTERM)          # the hub stops the users' servers and its proxy (cleanup_servers)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        _end_leftovers(settings)
        classroom.remove_users(settings["created_users"])
        shutil.rmtree(state, ignore_errors=True)
    assert _modes() == MODES_BEFORE, "the classroom changed the mode or owner of the checkout's folders"


def _end_leftovers(settings):
    """Processes still run by the classroom's users after the hub stopped (started by this test): end them by id."""
    import psutil
    names = {settings["teacher"], *settings["learners"]}
    for proc in psutil.process_iter(["username", "pid"]):
        if proc.info["username"] in names:
            try:
                proc.kill()
            except psutil.Error:
                pass


def _server_views(hub, names):
    """For each learner's running server (its jupyterhub-singleuser process): whether it runs in a mount namespace
    of its own, and what of each covered path (the solutions/ folders, the git folder, .git) it sees there, as
    root reads it through /proc/PID/root -> {name: {"own mount namespace": bool, path: listing or size}}."""
    import psutil
    ours = os.readlink("/proc/self/ns/mnt")
    views = {}
    for proc in psutil.process_iter(["username", "pid", "cmdline"]):
        name = proc.info["username"]
        if name in names and any("jupyterhub-singleuser" in a for a in proc.info["cmdline"] or ()):
            root = Path(f"/proc/{proc.info['pid']}/root")
            view = {"own mount namespace": os.readlink(f"/proc/{proc.info['pid']}/ns/mnt") != ours}
            for cover in classroom.covers():
                seen = root / cover[1:].lstrip("/")
                view[cover[1:]] = sorted(os.listdir(seen)) if seen.is_dir() else seen.stat().st_size
            views[name] = view
    return views


def _start_servers(hub, names):
    """Start the servers of NAMES at once (each POST waits while its spawn is quick) and wait until all are ready."""
    for name in names:
        hub.token(name)
    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
        list(pool.map(lambda name: hub.call("POST", f"/hub/api/users/{name}/server", token=hub.token(name)), names))
    deadline = time.time() + 180
    for name in names:
        while not hub.call("GET", f"/hub/api/users/{name}", token=hub.token(name))["servers"].get("", {}).get("ready"):
            assert time.time() < deadline, f"{name}'s server did not start:\n{hub.log()}"
            time.sleep(0.1)


def _this_weeks_source():
    """The solutions notebook without Problems 2-6 (every cell from the one with id FIRST_LEFT_OUT on)."""
    nb = nbformat.read(str(SOLUTIONS), as_version=4)
    nb.cells = nb.cells[:[c.id for c in nb.cells].index(FIRST_LEFT_OUT)]
    return nb


def _solutions_by_id():
    return {c.id: c for c in _this_weeks_source().cells}


def _answer(hub, name, cell_ids, wrong=None):
    """The learner edits their fetched notebook through the contents API (as JupyterLab saves it)."""
    path = f"/user/{name}/api/contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    model = hub.call("GET", path + "?content=1", token=hub.token(name))
    reference = _solutions_by_id()
    changed = 0
    for cell in model["content"]["cells"]:
        if cell["id"] in cell_ids:
            cell["source"] = "\n".join(line for line in reference[cell["id"]].source.splitlines()
                                       if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
            if wrong and cell["id"] == wrong[0]:
                assert wrong[1] in cell["source"]
                cell["source"] = cell["source"].replace(wrong[1], wrong[2])
            changed += 1
    assert changed == len(cell_ids), "the fetched notebook lacks some answer cells"
    hub.call("PUT", path, token=hub.token(name), data={"type": "notebook", "format": "json",
                                                       "content": model["content"]})


def _autograded(hub, student):
    """(autograded points of the check cells, their maximum, points per check cell) from the teacher's gradebook."""
    from nbgrader.api import Gradebook
    checks = {c.metadata["nbgrader"]["grade_id"] for c in _solutions_by_id().values()
              if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")}
    with Gradebook(f"sqlite:///{classroom.course_dir(hub.state) / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        grades = {g.name: (g.auto_score or 0, g.max_score) for g in notebook.grades if g.name in checks}
    return sum(s for s, _ in grades.values()), sum(m for _, m in grades.values()), grades


PROBE = r"""
import glob, json, os, sys
attempts = {}
for what, path in json.loads(sys.argv[1]).items():
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").read(64)
        attempts[what] = "read"
    except PermissionError:
        attempts[what] = "denied"
print(json.dumps(attempts))
"""


def _attempts(hub, name, paths):
    """What the Unix user NAME manages to read of PATHS ({what: path}) -> {what: 'read' | 'denied'}."""
    for path in paths.values():
        assert Path(path).exists(), f"{path} does not exist, so a failed read would prove nothing"
    out = _as_user(hub, name, "import sys; sys.argv[1:] = [" + repr(json.dumps({k: str(v) for k, v in paths.items()}))
                   + "]\n" + PROBE)
    return json.loads(out.strip().splitlines()[-1])


def _learner_in_chromium(hub):
    """One learner in headless Chromium: log in through the hub, open the fetched exercises, run the cells above
    Problem 1a's check and then the check -> (the check's first output, the number of its error outputs, seconds)."""
    begun = time.time()
    from playwright.sync_api import sync_playwright
    ids = [c.id for c in nbformat.read(str(SOLUTIONS), as_version=4).cells]
    check_index, answer_index = ids.index("p1a-check"), ids.index("p1a-code")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync", "--disable-quic"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(hub.url + "/hub/login", timeout=60_000)
            page.fill("#username_input", REFERENCE)
            page.fill("#password_input", hub.settings["password"])
            page.click("#login_submit")
            page.wait_for_url(f"**/user/{REFERENCE}/**", timeout=120_000)
            start_notebook_session(f"{hub.url}/user/{REFERENCE}", f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                                   token=hub.token(REFERENCE))   # the kernel first: JupyterLab connects to it
            cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(check_index)
            open_notebook(page, f"{hub.url}/user/{REFERENCE}/lab/tree/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", cell)
            answer_prompt = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(
                answer_index).locator(".jp-InputPrompt")
            run_menu_until_started(page, "Run All Above Selected Cell", answer_prompt,
                                   select=lambda: cell.locator(".jp-InputPrompt").click(),
                                   reopen=lambda: open_notebook(page, cell=cell))   # reload after a try that started nothing
            answer_prompt.filter(has_text=RAN_PROMPT).wait_for(timeout=180_000)   # 1a's answer ran
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=180_000)
            cell.locator(".jp-InputPrompt").click()
            page.keyboard.press("Shift+Enter")
            output = cell.locator(".jp-OutputArea-output")
            output.first.wait_for(timeout=180_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=180_000)
            text = output.first.inner_text()
            errors = cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count()
            (ROOT / "build").mkdir(exist_ok=True)
            page.screenshot(path=str(ROOT / "build" / "hub_learner_check.png"))
        finally:
            browser.close()
    return text, errors, round(time.time() - begun, 1)


@pytest.fixture(scope="module")
def graded_class(hub):
    """The whole class flow, once: release, fetch, work, submit, collect, autograde, feedback -> what was seen."""
    seen, steps = {}, {}
    teacher = lambda *args: classroom.teacher_command(hub.state, *args)   # noqa: E731

    def step(name, action, *args):
        """Run a phase -> its result; its wall seconds go to steps (and, for the teacher's commands, which run as
        this process's children, their CPU seconds: a measure that does not depend on the machine's load)."""
        begun, cpu = time.time(), resource.getrusage(resource.RUSAGE_CHILDREN)
        result = action(*args)
        steps[name] = round(time.time() - begun, 1)
        if action is teacher:
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            steps[name] = (steps[name], round(after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime, 1))
        return result

    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:   # the learners log in while the teacher prepares
        servers = pool.submit(_start_servers, hub, [REFERENCE, BLANK, PARTIAL])
        source = classroom.course_dir(hub.state) / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        nbformat.write(_this_weeks_source(), str(source))   # as the teacher's edit of their source (owner kept)
        step("generate_assignment", teacher, "nbgrader", "generate_assignment", ASSIGNMENT, "--force")
        step("release_assignment", teacher, "nbgrader", "release_assignment", ASSIGNMENT, "--force")
        step("servers ready", servers.result)
    listing = hub.call("GET", f"/user/{BLANK}/assignments?course_id={COURSE}", token=hub.token(BLANK))
    seen["released"] = [a["assignment_id"] for a in listing["value"] if a["status"] == "released"]

    for name in (REFERENCE, BLANK, PARTIAL):
        step(f"fetch {name}", hub.learner, name, "fetch")
    reference = _solutions_by_id()
    answers = [i for i, c in reference.items() if c.metadata.get("nbgrader", {}).get("solution")]
    _answer(hub, REFERENCE, answers)
    _answer(hub, PARTIAL, PARTIAL_CELLS, wrong=("p1b-code", *WRONG_1B))
    for name in (REFERENCE, BLANK, PARTIAL):
        reply = step(f"submit {name}", hub.learner, name, "submit")
        assert any(a["status"] == "submitted" for a in reply["value"]), reply

    inbound = hub.state / "exchange" / COURSE / "inbound"
    submission = next(inbound.glob(f"{REFERENCE}+{ASSIGNMENT}+*")) / f"{ASSIGNMENT}.ipynb"
    seen["before collect"] = _attempts(hub, BLANK, {
        "exchange inbound (list)": inbound,
        "another learner's submission, by its full path": submission,
        "another learner's home": classroom.home(hub.state, REFERENCE),
        "another learner's notebook": classroom.home(hub.state, REFERENCE) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        "the teacher's course folder": classroom.course_dir(hub.state),
        "the teacher's source notebook (solutions)":
            classroom.course_dir(hub.state) / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        "the repository's solutions notebook": SOLUTIONS,
        "the repository's solutions folder (list)": SOLUTIONS.parent,
        "the repository's git folder (history holds the solutions)": GIT_DIR,
        "this checkout's .git": ROOT / ".git",
        "the released assignment (control: must be readable)":
            hub.state / "exchange" / COURSE / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
    })
    seen["own submission"] = _attempts(hub, REFERENCE, {"own submission": submission})
    seen["server views"] = _server_views(hub, (REFERENCE, BLANK, PARTIAL))
    seen["hub API"] = {
        "another learner's server (contents)": hub.status("GET", f"/user/{REFERENCE}/api/contents", hub.token(BLANK)),
        "another learner's assignment list": hub.status("GET", f"/user/{REFERENCE}/assignments?course_id={COURSE}",
                                                        hub.token(BLANK)),
        "own server (control)": hub.status("GET", f"/user/{BLANK}/api/contents", hub.token(BLANK)),
    }

    # While the teacher grades (one core: nbgrader runs one kernel at a time), a learner goes on in the browser.
    browser = concurrent.futures.ThreadPoolExecutor(1)
    seen["chromium"] = browser.submit(_learner_in_chromium, hub) if CHROMIUM else None
    try:
        step("collect", teacher, "nbgrader", "collect", ASSIGNMENT)
        step("autograde", teacher, "nbgrader", "autograde", ASSIGNMENT, "--force", "--create")
        step("generate_feedback", teacher, "nbgrader", "generate_feedback", ASSIGNMENT, "--force")
        step("release_feedback", teacher, "nbgrader", "release_feedback", ASSIGNMENT)
    finally:
        browser.shutdown(wait=True)   # the learner's session ends before the hub does
    if seen["chromium"] and seen["chromium"].exception() is None:
        steps["chromium (during grading)"] = seen["chromium"].result()[2]
    for name in (REFERENCE, BLANK, PARTIAL):
        step(f"fetch_feedback {name}", hub.learner, name, "fetch_feedback")
    feedback = {name: classroom.home(hub.state, name) / ASSIGNMENT / "feedback" for name in (REFERENCE, BLANK, PARTIAL)}
    seen["feedback"] = {name: sorted(str(p.relative_to(folder.parent)) for p in folder.rglob("*.html"))
                        for name, folder in feedback.items()}
    released = hub.state / "exchange" / COURSE / "feedback"
    reference_gid = pwd.getpwnam(REFERENCE).pw_gid
    seen["after feedback"] = _attempts(hub, BLANK, {
        "exchange feedback folder (list)": released,
        "another learner's released feedback, by its full path":
            next(p for p in released.iterdir() if p.stat().st_gid == reference_gid),
        "another learner's fetched feedback": next((classroom.home(hub.state, REFERENCE) / ASSIGNMENT / "feedback")
                                                   .rglob("*.html")),
    })
    seen["scores"] = {name: _autograded(hub, name) for name in (REFERENCE, BLANK, PARTIAL)}
    seen["seconds"], seen["steps"] = round(time.time() - started, 1), {"hub up": hub.seconds_to_start, **steps}
    print(json.dumps({k: v for k, v in seen.items() if k not in ("scores", "chromium")}, indent=1))
    print({name: f"{s:g}/{m:g}" for name, (s, m, _) in seen["scores"].items()})
    return seen


def test_the_teacher_releases_and_every_learner_gets_feedback(graded_class):
    assert graded_class["released"] == [ASSIGNMENT]
    for name, files in graded_class["feedback"].items():
        assert files and all(f.endswith(f"{ASSIGNMENT}.html") for f in files), (name, files)


def test_autograded_scores_are_full_zero_and_partial(graded_class):
    scores = graded_class["scores"]
    full, maximum, per_check = scores[REFERENCE]
    blank, _, _ = scores[BLANK]
    partial, _, partial_checks = scores[PARTIAL]
    assert sorted(per_check) == ["p1a-check", "p1b-check", "p1c-check", "p1d-check"]   # Problem 1, all its checks
    assert maximum == sum(m for _, m in per_check.values()) >= 7 and full == maximum
    assert blank == 0
    assert 0 < partial < maximum
    assert partial_checks["p1b-check"][0] == 0                           # the wrong layer is refused
    assert partial_checks["p1d-check"][0] == 0                           # left blank
    assert all(s == m > 0 for g, (s, m) in partial_checks.items() if g in ("p1a-check", "p1c-check"))   # right


def test_a_learner_cannot_read_another_learners_work_or_the_solutions(graded_class):
    attempts = graded_class["before collect"]
    control = "the released assignment (control: must be readable)"
    assert attempts.pop(control) == "read"
    assert attempts == {what: "denied" for what in attempts}, attempts
    assert graded_class["own submission"] == {"own submission": "read"}
    assert graded_class["after feedback"] == {what: "denied" for what in graded_class["after feedback"]}


def test_every_learners_server_sees_the_solutions_and_git_folders_empty(graded_class):
    views = graded_class["server views"]
    assert sorted(views) == [REFERENCE, BLANK, PARTIAL]
    for name, view in views.items():
        assert view.pop("own mount namespace"), name
        assert str(GIT_DIR) in view and str(SOLUTIONS.parent.resolve()) in view
        assert all(seen in ([], 0) for seen in view.values()), (name, view)


def test_a_learners_hub_token_does_not_reach_another_learners_server(graded_class):
    api = graded_class["hub API"]
    assert api.pop("own server (control)") == 200
    assert all(code in (403, 404) for code in api.values()), api


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed: run tools/ensure_chromium.sh (make test "
                                             "does this)")
def test_a_learner_logs_in_opens_the_exercises_and_runs_a_check_in_chromium(graded_class):
    text, errors, _ = graded_class["chromium"].result()   # run during the teacher's grading (graded_class)
    assert text.startswith("\u2713 Problem 1a") and errors == 0, text


def test_the_checkouts_folders_keep_their_modes(hub, graded_class):
    """The isolation lives in the users' mount namespaces: the checkout, its solutions/ and .git, the git folder
    and every worktree's solutions/ keep their modes and owners on the disk (compared with before the hub)."""
    assert MODES_BEFORE and _modes() == MODES_BEFORE
