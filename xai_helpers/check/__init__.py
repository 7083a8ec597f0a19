"""Automatic feedback for the chapter-4 exercises (Problems 1-6): ``import xai_helpers.check as check``.

Each checker takes what the learner built (a function, a table, a decision or a written answer),
tests it against references computed here -- a function at several argument values, on a second
model with another input normalisation, every field of a returned value -- and recognises the classic
mistakes of each task. On success it prints one ``✓`` line and returns None; on a wrong answer it
raises ``CheckFailed`` (an ``AssertionError``) whose message names the mistake without giving the answer;
``NotAnsweredYet`` (also an ``AssertionError``) means the task is still open.

The checkers live in ``common`` (shared pieces), ``written`` (written answers) and ``problem1`` ...
``problem6`` (one module per problem). ``importlib.reload(check)`` reloads all of them,
so a check cell that starts with ``check = importlib.reload(check)`` undoes any checker a learner
replaced in an answer cell.
"""
import importlib as _importlib

from . import arguments as _arguments, common as _common, measures as _measures, written as _written
from . import problem1 as _p1, problem2 as _p2, problem3 as _p3, problem4 as _p4, problem5 as _p5, problem6 as _p6

if globals().get("_LOADED"):          # importlib.reload(check): restore every part, shared pieces first
    for _part in (_common, _measures, _arguments, _written, _p1, _p2, _p3, _p4, _p5, _p6):
        _importlib.reload(_part)
_LOADED = True

from .common import CheckFailed, NotAnsweredYet  # noqa: E402
from .measures import pearson, relative_difference, rms_difference, roughness  # noqa: E402
from .written import numbers_in, written_answer  # noqa: E402
from .problem1 import problem1_box_share, problem1_layers, problem1_measurements  # noqa: E402
from .problem2 import problem2_experiment, problem2_plan, problem2_smoothgrad  # noqa: E402
from .problem3 import problem3_baselines, problem3_table  # noqa: E402
from .problem4 import problem4_held_out, problem4_margins, problem4_word_attention  # noqa: E402
from .problem5 import problem5_crop, problem5_evidence, problem5_margins, problem5_numbers  # noqa: E402
from .problem6 import problem6_paste, problem6_region  # noqa: E402

__all__ = ["CheckFailed", "NotAnsweredYet", "problem1_box_share", "problem1_layers", "problem1_measurements",
           "problem2_smoothgrad", "problem2_experiment", "problem2_plan", "problem3_baselines", "problem3_table",
           "problem4_word_attention", "problem4_margins", "problem4_held_out", "problem5_numbers",
           "problem5_evidence", "problem5_crop", "problem5_margins", "problem6_region", "problem6_paste",
           "written_answer", "numbers_in", "roughness", "relative_difference", "rms_difference", "pearson"]
