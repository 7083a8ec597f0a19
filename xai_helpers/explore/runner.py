"""Interactive explorers: the learner's own photo (``explore_image``) and sentence (``explore_text``).

Both are built with ipywidgets on the package's own methods. What they share lives here:

* **Superseding.** Every choice increments a generation counter and starts one worker thread. A
  worker holds the model's lock while it computes (so two computations never share the model's
  hooks), checks the counter before every forward pass (a forward pre-hook, owned by its thread and
  removed on exit, also on errors) and before drawing, and gives up as soon as a newer choice exists.
  There is no queue: a waiting worker whose choice is already stale never starts computing. torch
  releases the GIL inside its operations, so the kernel stays responsive meanwhile.
* **Where widgets cannot run.** ``interactive=None`` (the default) means: widgets when the code runs
  inside a Jupyter kernel (only a kernel can talk to a widget front end), a static figure otherwise
  (a script, a terminal, pytest). The explorer's output always carries, next to the widget, a PNG of
  its default view: a front end with the widget manager (JupyterLab, Notebook 7, Colab, VS Code) shows
  the widget, one without it (nbconvert's HTML export, nbval, a plain viewer) shows the figure.
  ``interactive=False`` gives only the figure; ``interactive=True`` insists on widgets.
"""
import base64
import contextlib
import io
import sys
import threading

__all__ = ["Superseded", "Runner", "watch_forward_passes", "in_jupyter_kernel", "resolve_interactive",
           "figure_png"]


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


class Runner:
    """One computation at a time, newest choice wins: a generation counter and a worker thread."""

    def __init__(self):
        self.generation, self.completed, self.superseded, self.failed = 0, 0, 0, 0
        self._lock, self._thread, self._state = threading.Lock(), None, threading.Lock()

    def check(self, generation):
        """Raise ``Superseded`` when a newer choice exists than ``generation``."""
        if generation != self.generation:
            raise Superseded()

    def submit(self, compute, draw, on_error):
        """Start ``compute(generation)`` in a worker; ``draw(result)`` if still current; errors -> ``on_error``."""
        with self._state:
            self.generation += 1
            thread = threading.Thread(target=self._work, args=(self.generation, compute, draw, on_error),
                                      daemon=True, name=f"explorer-{self.generation}")
            self._thread = thread
        thread.start()
        return thread

    def run_now(self, compute, draw):
        """Compute and draw in the calling thread (the explorer's first, static view)."""
        with self._lock:
            draw(compute(self.generation))

    def _work(self, generation, compute, draw, on_error):
        with self._lock:
            try:
                self.check(generation)          # stale before it started: never compute
                result = compute(generation)
                self.check(generation)          # stale after computing: never draw
                draw(result)
                self.completed += 1
            except Superseded:
                self.superseded += 1
            except Exception as err:            # shown in the widget, never a traceback
                self.failed += 1
                if generation == self.generation:
                    on_error(err)

    def wait(self, timeout=60.0):
        """Block until the newest computation is finished (tests and scripts); returns True if it did."""
        while True:
            thread = self._thread
            if thread is None:
                return True
            thread.join(timeout)
            if thread.is_alive():
                return False
            if thread is self._thread:
                return True


def error_text(err):
    """One line for the learner: the message of a package error, the type for anything unexpected."""
    message = str(err) or type(err).__name__
    return message if isinstance(err, (ValueError, TypeError, OSError, RuntimeError, KeyError)) \
        else f"{type(err).__name__}: {message}"
