"""The harness that fuzzes every public function with wrong kinds of arguments (hypothesis).

A fuzz case (``Case``) is one valid call of a public function or class. ``fuzz(case)`` first makes that call,
then replaces ONE argument at a time by a value of a wrong kind -- a string where a tensor goes, a model where
attention weights go, a tensor of the wrong rank, dtype or device, a number where a name goes, ... -- and
calls again. Each call must either still work (the value happened to be acceptable) or raise a TypeError or
ValueError from inside ``xai_helpers`` whose message names the argument that was wrong. A raw error from
inside torch/numpy/PIL, a message that does not name the argument, any other exception type, or a hook left
on a model fails the test, with the call that did it in the report.

The test files ``test_fuzz_<subpackage>.py`` hold one ``CASES`` dict each (public name -> Case);
``test_fuzz_coverage.py`` checks that every public name of the package has a case.
"""
import dataclasses
import re
import traceback
from typing import Callable

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from helpers import hook_count
from xai_helpers import _memory


class _Other(nn.Module):
    """A model handed in where something else is expected (attention weights, an image, a label...)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)


#: A wrong kind of value -> how to make a fresh one.
WRONG_KINDS: dict[str, Callable[[], object]] = {
    "a string": lambda: "not-a-valid-value",
    "None": lambda: None,
    "an int": lambda: 7,
    "a negative int": lambda: -3,
    "a float": lambda: 2.5,
    "a bool": lambda: True,
    "a list": lambda: [1, 2, 3],
    "a dict": lambda: {"key": 1},
    "a model": _Other,
    "a numpy array": lambda: np.ones((4, 4), dtype=np.float32),
    "a 1-D tensor": lambda: torch.ones(5),
    "a 5-D tensor": lambda: torch.ones(1, 1, 2, 2, 2),
    "an integer tensor": lambda: torch.ones(1, 3, 16, 16, dtype=torch.int64),
    "a tensor on another device": lambda: torch.empty(1, 3, 16, 16, device="meta"),
    "a tensor with NaN": lambda: torch.full((1, 3, 16, 16), float("nan")),
}


@dataclasses.dataclass
class Case:
    """One valid call: ``fn(**make())``.

    ``make`` returns fresh keyword arguments each time (so a call cannot change the next one's inputs).
    ``aliases`` maps an argument to other words an error may use for it (e.g. ``{"x": ["image"]}``);
    ``fixed`` names arguments that are not fuzzed, each with the reason (e.g. a callback: any callable is
    valid); ``max_examples`` bounds the hypothesis draws for slow functions. ``feedback``: further exception
    types that count as a clear answer -- the exercise checkers answer a wrong kind of learner answer with
    ``CheckFailed`` feedback, which must then name the argument too. A feedback type is matched by its module
    and name, so a check cell's ``importlib.reload(check)`` (a new class object) does not change the verdict.
    """
    fn: Callable
    make: Callable[[], dict]
    aliases: dict = dataclasses.field(default_factory=dict)
    fixed: dict = dataclasses.field(default_factory=dict)
    max_examples: int = 30
    feedback: tuple = ()


def _raised_inside_the_package(err):
    frames = traceback.extract_tb(err.__traceback__)
    return bool(frames) and "xai_helpers" in frames[-1].filename.replace("\\", "/")


def _is_feedback(err, feedback):
    names = {(f.__module__, f.__qualname__) for f in feedback}
    return any((k.__module__, k.__qualname__) in names for k in type(err).__mro__)


def _names_the_argument(message, name, aliases):
    words = [name] + list(aliases.get(name, ()))
    return any(re.search(rf"(?<![\w.]){re.escape(w)}(?!\w)", message) for w in words)


def _modules(kwargs):
    return [v for v in kwargs.values() if isinstance(v, nn.Module)] + [
        v.model for v in kwargs.values() if isinstance(getattr(v, "model", None), nn.Module)]


def call_with(case, name, wrong):
    """Call ``case`` with argument ``name`` replaced by a value of kind ``wrong``; fail on a bad outcome."""
    kwargs = case.make()
    modules = _modules(kwargs)
    before = [hook_count(m) for m in modules]
    kwargs[name] = WRONG_KINDS[wrong]()
    where = f"{getattr(case.fn, '__qualname__', case.fn)}({name}=<{wrong}>)"
    try:
        case.fn(**kwargs)
    except Exception as err:  # noqa: BLE001 -- sorted below: a clear error, feedback, or a failure
        if not isinstance(err, (TypeError, ValueError)) and not _is_feedback(err, case.feedback):
            raise AssertionError(f"{where}: raised {type(err).__name__} instead of a clear TypeError/ValueError: "
                                 f"{err!r}\n{''.join(traceback.format_exception(err)[-6:])}") from err
        message = str(err)
        assert _raised_inside_the_package(err), f"{where}: a raw error from outside the package: {err!r}"
        assert _names_the_argument(message, name, case.aliases), (
            f"{where}: the error does not name the argument {name!r}: {message!r}")
    assert [hook_count(m) for m in modules] == before, f"{where}: a hook was left on a model"


def fuzzed_arguments(case):
    """The arguments of the valid call that the fuzzer replaces (all but ``case.fixed``)."""
    return sorted(k for k in case.make() if k not in case.fixed)


def fuzz(case):
    """The valid call works; then every drawn (argument, wrong kind) gives a value or a clear error.

    Runs inside ``_memory.releasing``: the heap as it was on entry stays frozen, so every collection the calls make
    scans only what they made, not the imported modules again.
    """
    with _memory.releasing():
        _fuzz(case)


def _fuzz(case):
    case.fn(**case.make())
    arguments = fuzzed_arguments(case)
    if not arguments:
        return

    @settings(max_examples=case.max_examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(name=st.sampled_from(arguments), wrong=st.sampled_from(sorted(WRONG_KINDS)))
    def run(name, wrong):
        call_with(case, name, wrong)

    run()
