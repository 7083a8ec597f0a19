"""Freed memory goes back to the system after each notebook cell (xai_helpers/_memory.py)."""
import types

import pytest
import torch

from xai_helpers import _memory


class FakeShell:
    """What ``trim_after_each_cell`` uses of an IPython shell: ``events.callbacks`` and ``events.register``."""

    def __init__(self):
        self.events = types.SimpleNamespace(callbacks={"post_run_cell": []})
        self.events.register = lambda event, fn: self.events.callbacks.setdefault(event, []).append(fn)


glibc = pytest.mark.skipif(_memory._malloc_trim() is None, reason="no glibc malloc_trim here")


@glibc
def test_registers_once_after_each_cell(monkeypatch):
    monkeypatch.delenv("XAI_MALLOC_TRIM", raising=False)
    shell = FakeShell()
    assert _memory.trim_after_each_cell(shell) and _memory.trim_after_each_cell(shell)
    assert shell.events.callbacks["post_run_cell"] == [_memory.trim_memory]


@glibc
def test_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("XAI_MALLOC_TRIM", "0")
    shell = FakeShell()
    assert not _memory.trim_after_each_cell(shell) and shell.events.callbacks["post_run_cell"] == []


def test_nothing_happens_outside_ipython_or_without_glibc(monkeypatch):
    monkeypatch.setattr(_memory, "get_ipython", lambda: None)
    assert not _memory.trim_after_each_cell()
    monkeypatch.setattr(_memory, "_malloc_trim", lambda: None)
    assert not _memory.trim_after_each_cell(FakeShell()) and _memory.trim_memory() is False


@glibc
def test_trim_runs_as_a_cell_callback_and_gives_back_freed_heap_pages():
    keep, freed = [], []
    for i in range(6000):                      # 16 KB blocks, far below glibc's mmap threshold: on the heap
        (keep if i % 50 == 0 else freed).append(torch.ones(4096))
    del freed                                  # ~95 MB freed between kept blocks: free() cannot shrink the heap
    assert _memory.trim_memory(object()) is True      # IPython passes the cell's result; glibc released pages
    assert len(keep) == 120


class _Cycle:
    """An object in a reference cycle: only the cyclic garbage collector frees it."""
    freed = 0

    def __init__(self):
        self.me = self

    def __del__(self):
        type(self).freed += 1


def test_releasing_collects_the_cycles_made_inside_and_unfreezes_the_heap():
    import gc
    _Cycle.freed = 0
    gc.disable()                                   # no automatic collection: only releasing's own
    try:
        with _memory.releasing():
            assert gc.get_freeze_count() > 0       # the heap from before is frozen while the block runs
            for _ in range(5):
                _Cycle()
        assert _Cycle.freed == 5 and gc.get_freeze_count() == 0
    finally:
        gc.enable()


def test_releasing_nests_and_decorates_and_the_last_to_leave_unfreezes():
    import gc

    @_memory.releasing()
    def inner():
        _Cycle()
        return gc.get_freeze_count() > 0

    _Cycle.freed = 0
    with _memory.releasing():
        assert inner()                             # still frozen inside: the outer block has not left
        assert _Cycle.freed == 1 and gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_releasing_leaves_a_freeze_made_by_someone_else_and_survives_an_error():
    import gc
    gc.freeze()
    try:
        with _memory.releasing():
            pass
        assert gc.get_freeze_count() > 0           # not ours to end
    finally:
        gc.unfreeze()
    with pytest.raises(ZeroDivisionError):
        with _memory.releasing():
            1 / 0
    assert gc.get_freeze_count() == 0
