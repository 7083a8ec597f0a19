"""A local classroom: JupyterHub with a teacher and N learners, each a real Unix user, and nbgrader's exchange.

    python tools/hub/classroom.py [--learners N] [--port 8000] [--state build/hub]      (as root; `make hub`)

prepares the state folder and starts JupyterHub with tools/hub/jupyterhub_config.py on 127.0.0.1:PORT (offline:
nothing is fetched). What it sets up, and what the isolation rests on:

* Accounts: ``xai-teacher`` and ``xai-learner1`` ... ``xai-learnerN`` are Unix system users (``useradd
  --system``, no login shell, created once and kept). Each one's single-user server runs under that user's own
  uid (JupyterHub's LocalProcessSpawner), with HOME = STATE/home/NAME (mode 0700, owned by the user). Logging in
  takes the shared password (DummyAuthenticator; $XAI_HUB_PASSWORD, default ``xai-course``) -- local use only.
* The course: the teacher's nbgrader course folder STATE/home/xai-teacher/course holds
  source/chapter4/chapter4.ipynb (the solutions notebook) and the gradebook; only the teacher can read it.
* The exchange: STATE/exchange (1777, root's), with the course's folder pre-made for the teacher (so no learner
  can claim the course id first): outbound 0755, inbound 2733 of the teacher's group (learners may write into it
  but not list it), feedback 0711 (enter, not list). Submissions are made readable by their learner's own group
  only (tools/hub/course_exchange.py), and the teacher is a member of each learner's group: other learners
  cannot read a submission even by its full name. Released feedback is likewise given to its learner's group.
* Every user's kernel is the course environment: the servers run this Python (the course's .venv) with the
  checkout on PYTHONPATH. Every process a user runs (their server, its kernels and terminals, the teacher's
  commands) starts through tools/hub/run_as.sh, in a private mount namespace of its own: where the interpreter,
  the environment or the checkout lies under a folder other users cannot enter (pyenv in /root), that folder is
  an empty tmpfs there showing only those folders (read-only); and the solutions/ folder of every worktree of the
  repository, its git folder (the history holds the solutions) and this checkout's .git are covered by empty,
  read-only mounts only root may enter (covers()), so no user's process can list or read them. Nothing on the
  disk changes: the checkout and the git folder keep their modes, and root's view of them is untouched. The
  teacher needs none of them: their course folder holds its own copy of the solutions notebook. The hub's own
  files (database, cookie secret) are in STATE/hub, 0700, root's.

In production use a real authenticator (PAM for local Unix accounts, or OAuthenticator / LTI / LDAP) and a
spawner that isolates users by container or systemd unit (DockerSpawner, SystemdSpawner, KubeSpawner with Zero
to JupyterHub), with the exchange on a volume shared between the users' containers.
"""
import argparse
import grp
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SOLUTIONS = ROOT / "solutions" / "chapter4_solutions.ipynb"
COURSE_ID = "xai-chapter4"
ASSIGNMENT = "chapter4"
TEACHER = "xai-teacher"
LEARNER = "xai-learner{}"
PASSWORD = "xai-course"
#: nbgrader's per-cell timeout in the teacher's autograde; its default of 30 s is tight on a busy 2-core machine.
CELL_TIMEOUT = 600
#: Extensions a learner's server does not load: the teacher's tools (nbgrader's formgrader and assignment creation).
TEACHER_ONLY = ("nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list")
#: ... and the JupyterLab menus of those tools that a learner's page does not show.
TEACHER_ONLY_LAB = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list",
                    "@jupyter/nbgrader:create-assignment")


class ClassroomError(RuntimeError):
    """The classroom cannot be set up here (not root, no useradd, ...): the message says why."""


def learners(n, pattern=LEARNER):
    return [pattern.format(i) for i in range(1, n + 1)]


def can_switch_users():
    """'' when this process can create users and run servers under their uids, else the reason why not."""
    if os.geteuid() != 0:
        return "not root: real per-learner Unix users (the isolation) need root to create them and switch to them"
    for tool, package in (("useradd", "passwd"), ("setpriv", "util-linux"), ("unshare", "util-linux")):
        if shutil.which(tool) is None:
            return f"{tool} is missing (Debian package '{package}')"
    try:
        uid_map = Path("/proc/self/uid_map").read_text().split()
    except OSError:
        uid_map = []
    if len(uid_map) >= 3 and int(uid_map[2]) < 65536:
        return ("running in a user namespace that maps only uid(s) " + " ".join(uid_map) +
                ": no other uid exists here to run a learner's server under (tools/offline.sh uses 'unshare -n', "
                "not '-rn', when it runs as real root)")
    if subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode:
        return ("no mount namespace can be made here (unshare --mount), in which tools/hub/run_as.sh hides the "
                "repository's solutions and git folder from every user's processes")
    return ""


def ensure_users(names):
    """Create the missing Unix users (system users, own group, no login shell, no home) -> the names created."""
    reason = can_switch_users()
    if reason:
        raise ClassroomError(reason)
    created = []
    for name in names:
        try:
            pwd.getpwnam(name)
        except KeyError:
            try:
                group = ["--gid", grp.getgrnam(name).gr_name]   # a group of that name left from an earlier run
            except KeyError:
                group = ["--user-group"]
            subprocess.run(["useradd", "--system", *group, "--no-create-home", "--home-dir", "/nonexistent",
                            "--shell", "/usr/sbin/nologin", "--comment", "xai course (tools/hub)", name],
                           check=True, capture_output=True)
            created.append(name)
    return created


def join_learner_groups(teacher, names):
    """Make the teacher a member of each learner's own group: submissions are readable by that group only."""
    for name in names:
        if teacher not in grp.getgrnam(name).gr_mem:
            subprocess.run(["usermod", "--append", "--groups", name, teacher], check=True, capture_output=True)


def remove_users(names):
    """Delete the users NAMES and their own groups (a learner's group outlives userdel: the teacher is a member)."""
    for name in names:
        subprocess.run(["userdel", name], capture_output=True)
    for name in names:
        subprocess.run(["groupdel", name], capture_output=True)


def home(state, name):
    return Path(state) / "home" / name


def course_dir(state):
    return home(state, TEACHER) / "course"


def exchange_dir(state):
    return Path(state) / "exchange"


def user_env(state, name):
    """The environment of NAME's server and of the commands NAME runs (nbgrader reads its config from here)."""
    role = "teacher" if name == TEACHER else "learner"
    env = {
        "USER": name, "LOGNAME": name, "HOME": str(home(state, name)), "SHELL": "/bin/bash",
        "JUPYTER_CONFIG_PATH": os.pathsep.join([str(Path(state) / "etc" / role), str(Path(state) / "etc" / "all")]),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "PYTHONPATH": os.pathsep.join(p for p in (str(HERE), str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        "MPLCONFIGDIR": str(home(state, name) / ".config" / "matplotlib"),
    }
    return env


def exposures():
    """['HIDDEN:KEEP', ...] for tools/hub/run_as.sh: each of the course's Python installation, its virtual
    environment and this checkout (KEEP) that lies under a folder other users may not enter (HIDDEN, e.g. /root
    for a pyenv interpreter); [] when every user can reach all three."""
    keeps = []
    for path in sorted({Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), ROOT}):
        if not any(path.is_relative_to(k) for k in keeps):
            keeps.append(path)
    pairs = []
    for keep in keeps:
        hidden = next((f for f in reversed(keep.parents) if not stat.S_IMODE(f.stat().st_mode) & 0o001), None)
        if hidden is not None:
            pairs.append(f"{hidden}:{keep}")
    return pairs


def run_as(state, name):
    """The command prefix that runs what follows as NAME in their home (tools/hub/run_as.sh; started as root)."""
    return [str(HERE / "run_as.sh"), name, str(home(state, name)), *exposures(), *covers(), "--"]


def _chown(path, name, mode):
    entry = pwd.getpwnam(name)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    os.chmod(path, mode)


def covers():
    """['!PATH', ...] for tools/hub/run_as.sh: what no user's process may see -- the solutions/ folder of every
    worktree of this repository, its git folder (the history holds the solutions) and this checkout's .git (a
    folder, or in a worktree the file that points into the git folder). Only those that exist; worked out anew
    for every command (a worktree added while the hub runs is covered from the next server on)."""
    paths = [ROOT / "solutions", ROOT / ".git"]
    try:
        common = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--path-format=absolute", "--git-common-dir"],
                                capture_output=True, text=True, check=True).stdout.strip()
        listing = subprocess.run(["git", "-C", str(ROOT), "worktree", "list", "--porcelain"],
                                 capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        common, listing = "", ""
    if common:
        paths.append(Path(common))
    paths += [Path(line.split(" ", 1)[1]) / "solutions" for line in listing.splitlines()
              if line.startswith("worktree ")]
    return ["!" + str(p) for p in dict.fromkeys(p.resolve() if p.is_dir() else p for p in paths) if p.exists()]


def _write(path, text, owner=None, mode=0o644):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if owner:
        _chown(path, owner, mode)
    else:
        os.chmod(path, mode)


def prepare(state, n_learners=3, port=8000, password=None, service_token=None, learner=LEARNER):
    """Users, homes, the teacher's course, the exchange, the config files -> the classroom's settings (a dict).
    ``learner``: the pattern of the learners' user names (bench/classroom.py uses users of its own, so that a
    benchmark and a class or the hub system test never share, or stop, each other's users)."""
    state = Path(state).resolve()
    names = [TEACHER, *learners(n_learners, learner)]
    created = ensure_users(names)
    join_learner_groups(TEACHER, learners(n_learners, learner))
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o755)
    for folder in (state, *state.parents):           # each learner must reach their home and the exchange
        if not stat.S_IMODE(folder.stat().st_mode) & 0o001:
            raise ClassroomError(f"{folder} is not searchable by other users (mode {oct(folder.stat().st_mode)}); "
                                 "put the state folder where every user can reach it, e.g. under /tmp or build/")
    (state / "home").mkdir(exist_ok=True)
    os.chmod(state / "home", 0o755)
    for name in names:
        home(state, name).mkdir(exist_ok=True)
        _chown(home(state, name), name, 0o700)
    teacher = pwd.getpwnam(TEACHER)

    # The exchange: the root may be written by all (sticky); the course's folders belong to the teacher.
    exchange = exchange_dir(state)
    exchange.mkdir(exist_ok=True)
    os.chmod(exchange, 0o1777)
    course_exchange = exchange / COURSE_ID
    for folder, mode in ((course_exchange, 0o755), (course_exchange / "outbound", 0o755),
                         (course_exchange / "inbound", 0o2733), (course_exchange / "feedback", 0o711)):
        folder.mkdir(exist_ok=True)
        os.chown(folder, teacher.pw_uid, teacher.pw_gid)
        os.chmod(folder, mode)

    # The teacher's course folder: the solutions notebook is the nbgrader source.
    course = course_dir(state)
    source = course / "source" / ASSIGNMENT
    if not course.exists():   # on the first start only: later the course folder is the teacher's own work
        source.mkdir(parents=True)
        shutil.copy(SOLUTIONS, source / f"{ASSIGNMENT}.ipynb")
        for folder, _, files in os.walk(course):
            _chown(folder, TEACHER, 0o700)
            for f in files:
                _chown(Path(folder) / f, TEACHER, 0o600)

    # nbgrader's configuration: the exchange for everyone, the course folder for the teacher.
    etc = state / "etc"
    common = (f"c = get_config()\n"
              f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
              f"c.Exchange.root = {str(exchange)!r}\n"
              f"c.ExchangeFactory.submit = 'course_exchange.GroupOnlySubmit'\n"
              f"c.ExchangeFactory.release_feedback = 'course_exchange.GroupOnlyReleaseFeedback'\n"
              f"c.Execute.timeout = {CELL_TIMEOUT}\n"
              f"c.Execute.kernel_name = 'python3'\n")
    _write(etc / "all" / "nbgrader_config.py", common)
    _write(etc / "teacher" / "nbgrader_config.py", f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n")
    learner_server = {"ServerApp": {"jpserver_extensions": {name: False for name in TEACHER_ONLY}}}
    _write(etc / "learner" / "jupyter_server_config.json", json.dumps(learner_server, indent=2))
    _write(etc / "teacher" / "jupyter_server_config.json", json.dumps({}))
    learner_lab = {"disabledExtensions": {name: True for name in TEACHER_ONLY_LAB}}
    _write(etc / "learner" / "labconfig" / "page_config.json", json.dumps(learner_lab, indent=2))
    no_news = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}   # offline: no news
    _write(etc / "all" / "labconfig" / "page_config.json", json.dumps(no_news, indent=2))
    for folder in (etc, etc / "all", etc / "teacher", etc / "learner", etc / "learner" / "labconfig",
                   etc / "all" / "labconfig"):
        os.chmod(folder, 0o755)

    settings = {"state": str(state), "port": int(port), "teacher": TEACHER, "learners": learners(n_learners, learner),
                "course_id": COURSE_ID, "assignment": ASSIGNMENT, "password": password or PASSWORD,
                "service_token": service_token or "", "python": sys.executable, "created_users": created,
                "covered": [c[1:] for c in covers()]}
    _write(state / "classroom.json", json.dumps(settings, indent=2), mode=0o600)
    return settings


def teacher_command(state, *args, timeout=1800, check=True):
    """Run a command as the teacher would in a terminal of their server: their uid, environment and course folder."""
    env = {**_passthrough(), **user_env(state, TEACHER)}
    command = [*run_as(state, TEACHER), "sh", "-c", 'cd "$0" && exec "$@"', str(course_dir(state)), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise ClassroomError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n"
                             f"{done.stderr[-5000:]}")
    return done


def _passthrough():
    """Offline switches and thread limits from the caller's environment that every user's processes keep."""
    keys = ("XAI_BLOCK_NETWORK", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY",
            "OMP_NUM_THREADS", "MKL_NUM_THREADS", "TORCH_NUM_THREADS", "XAI_DEVICE", "LANG", "LC_ALL")
    return {k: os.environ[k] for k in keys if k in os.environ}


# ------------------------------------------------------------------ a hub started and stopped by a program
# (bench/classroom.py: a whole class through the hub's REST API; tests/system/test_hub_classroom.py: the class flow)


def free_base_port():
    """A port P with P, P+1 and P+2 free on 127.0.0.1 (the proxy, the hub, the proxy's API)."""
    import socket
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base > 65000:
            continue
        try:
            for offset in (1, 2):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
    raise ClassroomError("no three consecutive free ports on 127.0.0.1")


def start_hub(settings, env=None, timeout=120):
    """Start JupyterHub on a classroom that prepare() made (its log: STATE/hub.log) and wait until its REST API
    answers the service token -> the hub's process (its own session: stop_hub ends it and what it started)."""
    import time
    import urllib.request
    state = Path(settings["state"])
    log = open(state / "hub.log", "w")
    hub = [str(Path(sys.executable).with_name("jupyterhub")), "-f", str(HERE / "jupyterhub_config.py")]
    process = subprocess.Popen(hub, cwd=state, env={**(env or os.environ), "XAI_HUB_STATE": str(state)}, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    request = urllib.request.Request(f"http://127.0.0.1:{settings['port']}/hub/api/",
                                     headers={"Authorization": f"token {settings['service_token']}"})
    deadline = time.time() + timeout
    while True:
        try:
            urllib.request.urlopen(request, timeout=5).read()
            return process
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                stop_hub(process, settings)
                raise ClassroomError("JupyterHub did not start:\n"
                                     + (state / "hub.log").read_text(errors="replace")[-3000:])
            time.sleep(0.2)


def stop_hub(process, settings, names=None):
    """Stop the hub (it stops the users' servers and its proxy: cleanup_servers), then end, by id, any process
    the users NAMES (default: the classroom's teacher and learners) still run (a kernel that outlived its server)."""
    import signal
    import psutil
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    names = set(names or {settings["teacher"], *settings["learners"]})
    for proc in psutil.process_iter(["username"]):
        if proc.info["username"] in names:
            try:
                proc.kill()
            except psutil.Error:
                pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=int(os.environ.get("XAI_HUB_LEARNERS", 3)))
    parser.add_argument("--port", type=int, default=int(os.environ.get("XAI_HUB_PORT", 8000)))
    parser.add_argument("--state", default=os.environ.get("XAI_HUB_STATE", str(ROOT / "build" / "hub")))
    args = parser.parse_args(argv)
    password = os.environ.get("XAI_HUB_PASSWORD", PASSWORD)
    try:
        settings = prepare(args.state, args.learners, args.port, password)
    except ClassroomError as error:
        sys.exit(f"classroom: {error}")
    print(f"classroom: JupyterHub on http://127.0.0.1:{args.port}/ -- teacher {TEACHER}, learners "
          f"{', '.join(settings['learners'])}; password {password!r} (set XAI_HUB_PASSWORD to change it)")
    if settings["covered"]:
        print("classroom: hidden from every user's processes (tools/hub/run_as.sh): " + ", ".join(settings["covered"]))
    env = {**os.environ, "XAI_HUB_STATE": settings["state"]}
    hub = Path(sys.executable).with_name("jupyterhub")
    os.chdir(settings["state"])   # the hub keeps its own files in STATE/hub (0700)
    os.execve(str(hub), [str(hub), "-f", str(HERE / "jupyterhub_config.py")], env)


if __name__ == "__main__":
    main()
