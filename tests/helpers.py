"""Small helpers several test files share (imported as ``from helpers import ...``; tests/ is on sys.path)."""
import contextlib
import gc
import re

import torch
from torch import nn


def all_hooks(module):
    """Every forward, forward-pre, backward and backward-pre hook on ``module`` and its submodules."""
    return [h for m in module.modules() for h in (*m._forward_hooks.values(), *m._forward_pre_hooks.values(),
                                                  *m._backward_hooks.values(),
                                                  *getattr(m, "_backward_pre_hooks", {}).values())]


def hook_count(module):
    """How many hooks ``all_hooks`` finds on ``module``."""
    return len(all_hooks(module))


def live_tensors():
    """How many torch tensors the garbage collector can see (after a collection)."""
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, torch.Tensor))


def made_file(folder, name, make):
    """``make(path)`` for ``path = folder / name`` -> ``path``."""
    path = folder / name
    make(path)
    return path


class CamNet(nn.Module):
    """conv -> ReLU -> average pool -> linear; class 0's weights are all negative, so its CAM is empty."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 2)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[-1.0, -2.0, -0.5, -1.0], [1.0, 1.0, 1.0, 1.0]]))

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))


class SmoothNet(nn.Module):
    """A small non-linear CNN (softplus), fast enough to integrate with many steps."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Softplus(beta=4), nn.Conv2d(8, 8, 3, padding=1),
                                  nn.Softplus(beta=4), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, 5))

    def forward(self, x):
        return self.body(x) * 20


BERTVIZ_TOKENS = ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"]
BERTVIZ_LAYERS, BERTVIZ_HEADS = 3, 4


def bertviz_attentions():
    """Seeded attention weights for the BertViz views: layers x heads x tokens x tokens, rows summing to 1."""
    g = torch.Generator().manual_seed(0)
    n = len(BERTVIZ_TOKENS)
    return torch.randn(BERTVIZ_LAYERS, BERTVIZ_HEADS, n, n, generator=g).softmax(-1)


def write_notebook(path, cells, colab=True):
    """Write a notebook of ``cells`` (nbformat cells) to ``path``, led by the Colab set-up cell unless ``colab``
    is false -> ``path``."""
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    first = [nbformat.v4.new_code_cell("# Colab set-up: does nothing here", metadata={"tags": ["colab-setup"]})]
    nb.cells = (first if colab else []) + cells
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_jupyterlab(work):
    """A JupyterLab server on localhost serving the folder ``work`` (no token, no news, no update checks, its
    own config and runtime folders) -> its URL; stopped on exit. Fails the test when it does not start."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    import pytest
    port = _free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(work / "config"), JUPYTER_RUNTIME_DIR=str(work / "runtime"))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
           "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
           f"--ServerApp.root_dir={work}", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = open(work / "lab.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(url + "/api", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("JupyterLab exited: " + (work / "lab.log").read_text()[-2000:])
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start within 2 minutes")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


#: A JupyterLab input prompt of a cell that has run ([n]), and of one queued or running ([*]) as well.
RAN_PROMPT, STARTED_PROMPT = re.compile(r"\[\d+\]"), re.compile(r"\[(\*|\d+)\]")


def start_notebook_session(url, path, token=None, kernel="python3"):
    """Start the kernel of the notebook ``path`` (relative to the server's root) on the Jupyter server at ``url``
    through its REST API, before a browser opens the notebook -> the session's id.

    JupyterLab then connects to this session instead of starting a kernel itself. Under load its own start request
    can fail, and it then asks "Select Kernel" (seen twice in the suite: the dialog came back each time it was
    accepted, and no Run menu command could start a cell). Without a ``token`` (a server with authentication off)
    the server wants its ``_xsrf`` cookie back as a header, as JupyterLab sends it."""
    import http.cookiejar
    import json
    import urllib.request
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"token {token}"
    else:
        opener.open(url + "/lab", timeout=120).read()
        headers["X-XSRFToken"] = next(c.value for c in jar if c.name == "_xsrf")
    body = json.dumps({"path": path, "name": path.rsplit("/", 1)[-1], "type": "notebook", "kernel": {"name": kernel}})
    request = urllib.request.Request(url + "/api/sessions", data=body.encode(), method="POST", headers=headers)
    return json.load(opener.open(request, timeout=300))["id"]


def accept_dialogs(page, seen, most=5):
    """Accept every JupyterLab dialog that is open (its default button, else Escape), appending each one's text to
    ``seen``. Under load JupyterLab can open one before the test's first click (seen once in the suite: a
    ``jp-Dialog`` took the clicks on the menu bar for 30 s); the test goes on and names it if it then fails."""
    dialogs = page.locator(".jp-Dialog")
    for _ in range(most):
        if not dialogs.count():
            return
        seen.append(" ".join(dialogs.first.inner_text(timeout=5_000).split())[:300])
        print(f"accepting a JupyterLab dialog: {seen[-1]}")
        accept = dialogs.first.locator(".jp-Dialog-button.jp-mod-accept")
        if accept.count():
            accept.first.click(timeout=5_000)
        else:
            page.keyboard.press("Escape")
        try:
            dialogs.first.wait_for(state="detached", timeout=5_000)   # closed, not counted again while it fades
        except Exception:  # noqa: BLE001  (still open or another one: the loop reads it again)
            pass


def run_menu_until_started(page, item, prompts, select=None, tries=3, wait_ms=20_000, reopen=None):
    """In JupyterLab (Playwright ``page``): Run > ``item`` until one of ``prompts`` shows ``[*]`` or ``[n]``
    -> the tries taken.

    A menu command given while the notebook is still getting ready does nothing and says nothing (seen in the
    suite: "Run All Cells" ran no cell, so the test waited out its 420 s; "Run All Above Selected Cell" ran no
    cell, so the check that followed raised NameError). ``prompts`` locates input prompts (``.jp-InputPrompt``):
    queued cells show ``[*]`` at once. ``select()``, if given, makes the cell the command needs active before
    each try. A dialog in the way is accepted first (``accept_dialogs``) and named in the failure. ``reopen()``, if
    given, reloads the page and waits for the notebook after a try that started nothing: a notebook whose session
    never got its kernel in the page (seen at the start of fresh-clone runs: the server's kernel was up and
    connected, yet Run asked "Select Kernel") comes back with it, as it does for a learner who reloads. Fails with
    the reason after ``tries`` tries of ``wait_ms`` each.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    started = prompts.filter(has_text=STARTED_PROMPT).first
    dialogs = []
    for attempt in range(1, tries + 1):
        accept_dialogs(page, dialogs)
        if select:
            select()
        try:
            page.click("div.lm-MenuBar-itemLabel:text-is('Run')", timeout=10_000)
            page.click(f"div.lm-Menu-itemLabel:text-is('{item}')", timeout=10_000)
            started.wait_for(timeout=wait_ms)
            return attempt
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            if reopen and attempt < tries:
                print(f"Run > {item} started no cell (try {attempt}): reloading the page")
                reopen()
    raise AssertionError(f"JupyterLab's Run > {item} started no cell in {tries} tries of {wait_ms / 1000:g} s"
                         + (f"; dialogs accepted on the way: {dialogs}" if dialogs else ""))


def run_all_in_jupyterlab(page, url, notebook):
    """Open ``notebook`` (a path under the server's root) in JupyterLab at ``url`` and run all its cells: its kernel
    is started through the API first (``start_notebook_session``), the page waits for the idle indicator, and a Run
    that starts nothing reloads the page before the next try (``run_menu_until_started``)."""
    start_notebook_session(url, notebook)
    open_notebook(page, f"{url}/lab/tree/{notebook}")
    run_menu_until_started(page, "Run All Cells", page.locator(".jp-CodeCell .jp-InputArea-prompt"),
                           reopen=lambda: open_notebook(page))


def open_notebook(page, address=None, cell=None):
    """Go to the notebook at ``address`` in JupyterLab (``None``: reload the page, as after a Run that started
    nothing) and wait until it is ready: ``cell`` (a locator; default: its first cell) shown and the kernel idle."""
    page.reload(timeout=120_000) if address is None else page.goto(address, timeout=120_000)
    (cell or page.locator(".jp-Notebook .jp-Cell").first).wait_for(timeout=120_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)


def save_other_image_model(path):
    """Save a torchvision MobileNet-V3-Small with seeded random weights as a classifier file (offline, no download).

    Lessons run with ``XAI_IMAGE_MODEL=<path>`` must reach their end with a model other than the default: this
    one has another architecture, other layer names and no trained readings, and runs faster than the default.
    """
    import torch
    import torchvision
    torch.manual_seed(0)
    net = torchvision.models.mobilenet_v3_small(weights=None)
    torch.save({"name": "mobilenet_v3_small (re-initialised)", "architecture": "mobilenet_v3_small",
                "state_dict": net.state_dict(), "target_layer_name": "features", "mean": (0.485, 0.456, 0.406),
                "std": (0.229, 0.224, 0.225)}, path)
    return path


def execute_lesson(lesson, out_folder, env_extra, timeout=1200, skip_tag=None):
    """Execute ``notebooks/<lesson>`` in a subprocess, with ``env_extra`` added to the environment.

    tools/notebook_client.py runs it (nbclient, as ``jupyter nbconvert --execute``, without the stall of a cell
    that drives an ipywidgets Output: see that module's docstring).

    ``skip_tag`` (``"same-for-any-image-model"`` or ``"-text-model"``): leave out the cells with that tag, after
    ``lesson_cells.independent_cells`` has proved on the source that they cannot see the model ``env_extra``
    replaces and that no other cell reads what they bind (they compute what nbval's default run computes).

    Returns ``(notebook, printed)``: the executed notebook (nbformat) and everything its code cells printed to
    stdout/stderr. Fails the test, with the end of the run's error output, if the run fails, a cell shows an
    error, or a code cell did not run.
    """
    import os
    import subprocess
    import sys
    from pathlib import Path

    import nbformat
    root = Path(__file__).resolve().parents[1]
    executed, source = Path(out_folder) / lesson, root / "notebooks" / lesson
    if skip_tag:
        from lesson_cells import independent_cells
        notebook = nbformat.read(source, as_version=4)
        skipped = set(independent_cells(notebook.cells, skip_tag))
        assert skipped, f"no cell of {lesson} is tagged {skip_tag!r}"
        notebook.cells = [c for i, c in enumerate(notebook.cells) if i not in skipped]
        source = Path(out_folder) / f"source-{lesson}"
        nbformat.write(notebook, source)
    env = {**os.environ, "PYTHONPATH": str(root), **{k: str(v) for k, v in env_extra.items()}}
    run = subprocess.run([sys.executable, str(root / "tools" / "notebook_client.py"), str(source), str(executed),
                          "--timeout", str(timeout)],
                         env=env, cwd=root / "notebooks", capture_output=True, text=True, timeout=timeout + 300)
    assert run.returncode == 0, run.stderr[-4000:]
    notebook = nbformat.read(executed, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    outputs = [o for c in code for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"], "a cell shows an error"
    assert all(c.get("execution_count") is not None for c in code), "every code cell ran"
    printed = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    return notebook, printed
