"""Interactive explorers: the learner's own photo (``explore_image``) and sentence (``explore_text``).

Both are built with ipywidgets on the package's own methods. What they share lives here:

* **One worker, newest choice wins.** Every choice increments its explorer's generation counter and
  replaces that explorer's pending job (there is no queue of stale work). One long-lived daemon thread
  per process (``explorer-worker``, started on first use) runs the pending jobs one at a time, so two
  computations never share a model's hooks. A job checks the counter before every forward pass (a
  forward pre-hook, owned by the worker thread and removed on exit, also on errors) and before drawing,
  and gives up as soon as a newer choice exists. torch releases the GIL inside its operations, so the
  kernel stays responsive meanwhile.
* **Memory stays flat.** A thread per choice made glibc hand each new thread its own allocator arena
  and keep the freed pages of the old ones: the kernel grew by hundreds of MB per heavy redraw. The one
  worker reuses its arena, and after each finished redraw (unless a newer choice already waits) it
  collects cyclic garbage (matplotlib figures are cycles) and returns freed heap pages to the OS with
  ``malloc_trim`` (glibc only; elsewhere a no-op). ``bench/explorer_memory.py`` measures it.
* **Where widgets cannot run.** ``interactive=None`` (the default) means: widgets when the code runs
  inside a Jupyter kernel (only a kernel can talk to a widget front end), a static figure otherwise
  (a script, a terminal, pytest). The explorer's output always carries, next to the widget, a PNG of
  its default view: a front end with the widget manager (JupyterLab, Notebook 7, Colab, VS Code) shows
  the widget, one without it (nbconvert's HTML export, nbval, a plain viewer) shows the figure.
  ``interactive=False`` gives only the figure; ``interactive=True`` insists on widgets. Where the default
  falls back to the figure (``announce_static``), the explorer says so -- its controls need Jupyter -- and,
  in an interactive terminal with a matplotlib window backend, opens the figure in a window.
"""
import base64
import collections
import contextlib
import io
import sys
import threading

import matplotlib
from matplotlib.backends import BackendFilter, backend_registry

from .. import _memory

__all__ = ["Superseded", "Runner", "watch_forward_passes", "in_jupyter_kernel", "resolve_interactive",
           "running_in", "announce_static", "figure_png", "WORKER"]


class Superseded(Exception):
    """A newer choice replaced the computation that raises this; it is dropped, never drawn."""


def in_jupyter_kernel():
    """True when this code runs inside a Jupyter kernel (an IPython shell with a ``kernel``)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def resolve_interactive(interactive):
    """``None`` -> widgets inside a Jupyter kernel, a static figure elsewhere; a bool is kept."""
    if interactive is None:
        return in_jupyter_kernel()
    if not isinstance(interactive, bool):
        raise TypeError(f"interactive must be None (decide automatically), True or False, got {interactive!r}.")
    return interactive


def running_in():
    """Where this code runs: ``"jupyter"`` (a Jupyter kernel), ``"terminal"`` (an interactive Python or IPython
    prompt) or ``"script"`` (anything else: ``python file.py``, pytest)."""
    if in_jupyter_kernel():
        return "jupyter"
    ipython = sys.modules.get("IPython")
    if (ipython is not None and ipython.get_ipython() is not None) or hasattr(sys, "ps1") or sys.flags.interactive:
        return "terminal"
    return "script"


def _window_backend():
    """Whether matplotlib's backend opens windows (TkAgg, QtAgg, macosx, ...), not only files (Agg)."""
    return matplotlib.get_backend().lower() in backend_registry.list_builtin(BackendFilter.INTERACTIVE)


def announce_static(explorer, call):
    """Say that ``call`` (``"explore_image"``) needs Jupyter for its controls and show ``explorer.png`` instead:
    in a window at an interactive prompt with a window backend, else by telling where to find it -> the text."""
    text = (f"{call}() needs Jupyter for its controls (JupyterLab, Jupyter Notebook or Colab); here is its "
            f"static figure instead")
    if running_in() == "terminal" and _window_backend():
        import matplotlib.pyplot as plt
        pixels = plt.imread(io.BytesIO(explorer.png), format="png")
        fig = plt.figure(figsize=(pixels.shape[1] / 90, pixels.shape[0] / 90), num=repr(explorer))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.imshow(pixels)
        ax.axis("off")
        plt.show(block=False)
        text += " (in a matplotlib window)."
    else:
        text += ": no window can open here, so save it with .save_png() (or pass interactive=False to skip this note)."
    print(text)
    return text


def figure_png(fig, dpi=90):
    """Render a matplotlib ``Figure`` (built without pyplot) to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


def png_bundle(png, text, widget=None):
    """The mime bundle: the widget's view (when there is one), the PNG of the default view, plain text."""
    bundle = {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": text}
    if widget is not None:
        bundle.update(widget._repr_mimebundle_())
        bundle["text/plain"] = text
    return bundle


@contextlib.contextmanager
def watch_forward_passes(module, on_forward):
    """Call ``on_forward(count)`` before each forward pass of ``module`` made by this thread.

    ``on_forward`` may raise ``Superseded`` to abandon the computation; the hook is removed on exit in
    every case, and passes made by other threads are ignored.
    """
    owner, count = threading.get_ident(), [0]

    def hook(_module, _inputs):
        if threading.get_ident() == owner:
            on_forward(count[0])
            count[0] += 1

    handle = module.register_forward_pre_hook(hook)
    try:
        yield count
    finally:
        handle.remove()


# Held while any explorer computes (the worker, or a first view in the caller's thread): one at a time.
_COMPUTING = threading.Lock()


class _Worker:
    """The process's one explorer thread: runs the pending job of each runner that has one, in turn."""

    def __init__(self):
        self._ready, self._runners, self.thread = threading.Condition(), collections.deque(), None

    def schedule(self, runner):
        """Queue ``runner`` (once) and wake the thread, starting it on first use."""
        with self._ready:
            if runner not in self._runners:
                self._runners.append(runner)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, daemon=True, name="explorer-worker")
                self.thread.start()
            self._ready.notify()

    def _loop(self):
        while True:
            with self._ready:
                self._ready.wait_for(lambda: self._runners)
                runner = self._runners.popleft()
            runner._run_pending()


WORKER = _Worker()


class Choice:
    """What ``Runner.submit`` returns: ``join()`` waits for this choice to be drawn or replaced; ``is_alive()``."""

    def __init__(self, runner):
        self._runner = runner

    def join(self, timeout=None):
        """Block until the explorer's newest choice is drawn and its memory released (or ``timeout`` s)."""
        self._runner.wait(timeout)

    def is_alive(self):
        """True while the explorer still has a choice to compute or draw."""
        return self._runner._busy


class Runner:
    """One explorer's choices: a generation counter and at most one pending job for ``WORKER``."""

    def __init__(self):
        self.generation, self.completed, self.superseded, self.failed = 0, 0, 0, 0
        self._state, self._pending, self._busy = threading.Condition(), None, False

    def check(self, generation):
        """Raise ``Superseded`` when a newer choice exists than ``generation``."""
        if generation != self.generation:
            raise Superseded()

    def submit(self, compute, draw, on_error):
        """Run ``compute(generation)`` in the worker; ``draw(result)`` if still current; errors -> ``on_error``.

        Replaces a pending job that has not started (counted as superseded). Returns a ``Choice``: its
        ``join()`` waits, like a thread's, until this explorer's newest choice is drawn.
        """
        with self._state:
            self.generation += 1
            if self._pending is not None:
                self.superseded += 1
            self._pending, self._busy = (self.generation, compute, draw, on_error), True
        WORKER.schedule(self)
        return Choice(self)

    def run_now(self, compute, draw):
        """Compute and draw in the calling thread (the explorer's first, static view)."""
        with _memory.releasing(), _COMPUTING:
            draw(compute(self.generation))

    def _run_pending(self):
        """In the worker: run the pending job, then release memory and report idle unless a newer one waits."""
        with self._state:
            job, self._pending = self._pending, None
        if job is not None:
            with _memory.releasing():           # on the way out: the redraw's garbage collected, the heap trimmed
                with _COMPUTING:
                    self._run(*job)
                del job                         # its closures hold the settings, photo and model
        with self._state:
            if self._pending is None:
                self._busy = False
                self._state.notify_all()

    def _run(self, generation, compute, draw, on_error):
        try:
            self.check(generation)              # stale before it started: never compute
            result = compute(generation)
            self.check(generation)              # stale after computing: never draw
            draw(result)
            self.completed += 1
        except Superseded:
            self.superseded += 1
        except Exception as err:                # shown in the widget, never a traceback
            self.failed += 1
            if generation == self.generation:
                on_error(err.with_traceback(None))   # kept as last_error: no frames (and tensors) with it

    def wait(self, timeout=60.0):
        """Block until the newest choice is drawn and its memory released (tests and scripts) -> True if so."""
        with self._state:
            return self._state.wait_for(lambda: not self._busy, timeout)


def error_text(err):
    """One line for the learner: the message of a package error, the type for anything unexpected."""
    message = str(err) or type(err).__name__
    return message if isinstance(err, (ValueError, TypeError, OSError, RuntimeError, KeyError)) \
        else f"{type(err).__name__}: {message}"
