"""Give freed memory back to the operating system after each notebook cell (Linux with glibc only).

A backward pass over a batch (SmoothGrad's noisy copies, Integrated Gradients' steps, the evaluation loops) frees
hundreds of MB of tensors when it ends, but glibc's ``malloc`` keeps the freed pages in the process: measured on
the course machine (CPU, ResNet-50), a kernel stayed at ~1150 MB after one ``smoothgrad`` instead of the ~815 MB
it held before. ``malloc_trim(0)`` hands them back (~30 ms when there is something to hand back, ~0.2 ms when
not). ``import xai_helpers`` in a Jupyter/IPython kernel registers it to run after every cell, so an idle learner's
kernel holds what it uses, not the high-water mark of its last cell. Set ``XAI_MALLOC_TRIM=0`` to turn it off.
"""
import contextlib
import ctypes
import functools
import gc
import os
import threading

from IPython import get_ipython

__all__ = ["trim_memory", "release_memory", "releasing", "trim_after_each_cell"]


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where there is none (macOS, Windows, musl)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim   # the C library already loaded (no ldconfig subprocess)
    except (OSError, AttributeError):   # musl and other C libraries have no malloc_trim
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def trim_memory(*_event) -> bool:
    """Return the heap's free pages to the operating system; True where glibc did release some.

    Accepts and ignores the arguments IPython passes to a ``post_run_cell`` callback.
    """
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False


def release_memory() -> bool:
    """Collect cyclic garbage (figures, autograd graphs held in cycles), then ``trim_memory``: what a long-lived
    loop (the explorers' worker, the evaluation's model copies) calls after dropping a large result."""
    gc.collect()
    return trim_memory()


class releasing(contextlib.ContextDecorator):
    """Around a heavy call (a decorator or a ``with`` block): on the way out, collect the cyclic garbage the call
    made and trim the heap, as ``release_memory`` does, but without scanning the objects that existed before.

    A full collection in a kernel with torch, transformers and matplotlib loaded scans ~530,000 objects (modules,
    models, caches) and costs ~0.24 s of CPU each time, measured on the course machine: more than an explorer's
    redraw of a small map. On entry the existing heap is frozen (``gc.freeze``: moving lists, no scan); the
    collection on exit then scans only what was made inside, where the call's garbage is, and the heap is
    unfrozen. Nested and concurrent uses (the explorers' worker and the notebook's own calls) share one frozen
    period, ended by the last to leave; garbage that older objects became meanwhile waits for the next ordinary
    collection. A freeze made by someone else is left as it is."""

    _lock = threading.Lock()
    _depth = 0
    _ours = False

    def __enter__(self):
        cls = type(self)
        with cls._lock:
            if cls._depth == 0:
                cls._ours = gc.get_freeze_count() == 0
                if cls._ours:
                    gc.freeze()
            cls._depth += 1
        return self

    def __exit__(self, *exc):
        cls = type(self)
        with cls._lock:
            cls._depth -= 1
            gc.collect()
            if cls._depth == 0 and cls._ours:
                gc.unfreeze()
                cls._ours = False
        trim_memory()
        return False


def trim_after_each_cell(shell=None) -> bool:
    """Register ``trim_memory`` to run after every cell of the running IPython ``shell`` (once); return whether it
    is registered. Nothing happens outside IPython, without glibc, or when ``XAI_MALLOC_TRIM`` is ``0``."""
    shell = shell if shell is not None else get_ipython()
    if shell is None or _malloc_trim() is None or os.environ.get("XAI_MALLOC_TRIM", "1").strip() == "0":
        return False
    if trim_memory not in shell.events.callbacks.get("post_run_cell", []):
        shell.events.register("post_run_cell", trim_memory)
    return True
