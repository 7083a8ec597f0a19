"""Checks of written answers: filled in, on topic, backed by the learner's own measured numbers.

A written answer is an f-string built from the run, so its numbers can be compared with the values
the run measured. The check does not grade the reasoning (that is the teacher's part); it refuses
an answer that is still the template, misses an aspect the question asks about, quotes too few of
the measured numbers, or dumps numbers instead of quoting them.
"""
import math
import re
from collections.abc import Iterable, Sequence

import numpy as np

from .._typecheck import checked
from .arguments import answers_checked
from .common import NotAnsweredYet, as_array, fail, ok

__all__ = ["numbers_in", "written_answer"]

_NUMBER = re.compile(r"(?<![\w.])[-+\u2212]?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?\s*%?")
_LONG_DECIMAL = re.compile(r"\d\.\d{6,}")


@checked
def numbers_in(text: str) -> list[float]:
    """All numbers written in ``text`` (a trailing % divides by 100; '−' counts as a minus sign).

    ``written_answer`` compares them with the numbers a run measured.

    Args:
        text: Any text.

    Returns:
        The numbers in the order they are written.

    Raises:
        TypeError: ``text`` is not a string.

    Example:
        >>> import xai_helpers.check as check
        >>> check.numbers_in("p = 58.3%, rank 2, r = −0.09")
        [0.583, 2.0, -0.09]
    """
    out = []
    for token in _NUMBER.findall(text):
        t = token.replace(",", ".").replace("\u2212", "-").strip()
        percent = t.endswith("%")
        try:
            v = float(t.rstrip("%").strip())
        except ValueError:
            continue
        out.append(v / 100 if percent else v)
    return out


def _matches(value, written):
    """Is the measured ``value`` written in ``written`` (rounded to 2 significant digits or better)?"""
    v = float(value)
    return any(math.isclose(n, v, rel_tol=0.06, abs_tol=0.006 if abs(v) < 1 else 0.0) for n in written)


def _measured_values(measured, label):
    """The finite numbers in ``measured`` (numbers, 0-d tensors, arrays, nested lists), or a failure naming it."""
    if isinstance(measured, (str, bytes)):
        fail(label, "`measured` should be the numbers your run measured (a list of numbers); got a string.")
    values = []
    for item in measured:
        try:
            array = as_array(item)
        except (TypeError, ValueError):
            fail(label, f"`measured` should hold the numbers your run measured; it holds {type(item).__name__}.")
        values += [float(v) for v in array.ravel() if np.isfinite(v)]
    return values


@answers_checked("Written answer", answers=("text",))
def written_answer(text: str, problem: int | str, must_mention: Sequence[str | Sequence[str]] = (),
                   measured: Iterable = (), min_quoted: int = 2, label: str | None = None) -> None:
    """Check a written answer: filled in, mentions the required aspects, quotes numbers from the run.

    Every problem of the chapter 4 exercises ends with one. An answer that writes far more numbers than it
    quotes (a pasted table or dictionary), or unrounded floats, is refused. The check does not grade the
    reasoning (that is the teacher's part).

    Args:
        text: The learner's answer (an f-string built from the run).
        problem: The problem's number, for the label of the messages.
        must_mention: Words (or tuples of alternatives) the answer must contain.
        measured: Numbers the run produced; at least ``min_quoted`` of them must appear in the text (to about 5 %).
        min_quoted: How many measured numbers the answer must quote.
        label: The label of the messages (default "Problem <problem> (written answer)").

    Raises:
        CheckFailed: The answer misses an aspect, quotes too few measured numbers or dumps numbers.
        NotAnsweredYet: The answer is None, empty or still the template.

    Example:
        >>> import xai_helpers.check as check
        >>> check.written_answer("The grid is 7 pixels wide; the roughness is 0.61.", problem=1,
        ...                      must_mention=["grid", "rough"], measured=[7, 0.6123], min_quoted=2)
        ✓ Problem 1 (written answer): filled in, covers 2 required aspect(s), quotes 2 measured number(s).
        >>> check.written_answer("The grid is coarse.", problem=1, must_mention=["grid"], measured=[7, 0.61])
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.CheckFailed: Problem 1 (written answer): the answer quotes 0 of the numbers ...
    """
    label = label or f"Problem {problem} (written answer)"
    values = _measured_values(measured, label)
    if not isinstance(text, str) or not text.strip() or "..." in text or "YOUR ANSWER" in text.upper():
        raise NotAnsweredYet(f"{label}: the answer is still empty or the template (replace every '...').")
    lowered = text.lower()
    for word in must_mention:
        options = (word,) if isinstance(word, str) else tuple(word)
        if not any(o.lower() in lowered for o in options):
            fail(label, f"the answer does not discuss {' / '.join(options)!r}, which the question asks about.")
    if _LONG_DECIMAL.search(text) or re.search(r"tensor\(|array\(|\{'", text):
        fail(label, "the answer contains unrounded numbers or a pasted tensor/dict; quote each number rounded "
                    "(f'{value:.2f}') inside a sentence that says what it shows.")
    written = numbers_in(text)
    quoted = [m for m in values if _matches(m, written)]
    need = min(min_quoted, len(values))
    if len(quoted) < need:
        fail(label, f"the answer quotes {len(quoted)} of the numbers your run measured; back your claims with at "
                    f"least {need} of them (use an f-string, e.g. f'{{value:.2f}}').")
    supported = sum(any(_matches(m, [n]) for m in values) for n in written)
    if len(written) > 3 * max(supported, 1) + 8:
        fail(label, f"the answer writes {len(written)} numbers but only {supported} of them are your measured "
                    "values: it lists numbers instead of quoting the few that back each claim. Keep the numbers "
                    "that carry a point and say in words what they show.")
    ok(label, f"filled in, covers {len(must_mention)} required aspect(s), quotes {len(quoted)} measured number(s).")

