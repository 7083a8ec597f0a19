"""Checks of written answers: filled in, on topic, backed by the learner's own measured numbers.

A written answer is an f-string built from the run, so its numbers can be compared with the values
the run measured. Each question has a rubric: the parts it asks for, each with the words that name it and
the measured numbers that back it, matched part by part. The check does not grade the reasoning (that is
the teacher's part); it refuses an answer that is still the template, leaves out a part, backs a part with
numbers that are not the run's own (a lesson's value, the theory's, an invented one), or pastes or dumps
numbers instead of quoting them.
"""
import re
from collections.abc import Iterable, Mapping, Sequence

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


_TOKEN = re.compile(r"(?<![\w.])([-+\u2212]?)(\d+)(?:[.,](\d+))?(?:[eE]([-+]?\d+))?(\s*%)?")
_MARKER = re.compile(r"^\s*(?:[-*\u2022]\s+|\d+[.)]\s+)")
_PASTED = re.compile(r"tensor\(|array\(|\{'|\{\"|\[\s*[-+]?\d[\d.e+-]*(?:\s*,\s*[-+]?\d[\d.e+-]*){3,}\s*\]")


def _written_numbers(text):
    """Each number written in ``text`` outside list markers, as (value, tolerance, significant digits).

    The tolerance is half a unit of the last digit written (``0.61`` -> 0.005, ``35 %`` -> 0.005, ``1.2e-03`` ->
    5e-5): a number matches a value that rounds to it, and nothing further away."""
    out = []
    for line in text.splitlines():
        line = _MARKER.sub("", line, count=1)
        for sign, whole, decimals, exponent, percent in _TOKEN.findall(line):
            decimals = decimals or ""
            scale = 10.0 ** int(exponent or 0) / (100.0 if percent else 1.0)
            value = float(f"{whole}.{decimals or 0}") * scale * (-1 if sign in ("-", "\u2212") else 1)
            digits = (whole + decimals).lstrip("0")
            out.append((value, 0.5 * 10.0 ** -len(decimals) * scale, max(len(digits), 1)))
    return out


def _fits(value, written):
    """Does the written number (value, tolerance, digits) round the measured ``value``?"""
    v, tolerance, _ = written
    return abs(v - float(value)) <= tolerance * (1 + 1e-9) + 1e-12


def _informative(value, written):
    """A written number counts as quoting ``value`` only with two significant digits or more (``0`` or ``4 %``
    fits too many values to show which one was measured), or as the exact whole number of a count of 10 or more."""
    v = float(value)
    if v == 0:
        return False
    if float(v).is_integer() and abs(v) >= 10 and written[0] == v:
        return True
    return written[2] >= 2 and not float(v).is_integer()


def _quotable(value):
    """Whether a measured value can be quoted at all: not 0, and not a whole number below 10 (too common a number
    to show that it was read from the run)."""
    v = float(value)
    return v != 0 and not (v.is_integer() and abs(v) < 10)


def _quoting(values, written, decoys):
    """Pair written numbers with the measured ``values`` they quote, each number and each value used once.

    A number that also rounds one of the ``decoys`` (a lesson's or the theory's value) quotes nothing: it does
    not show that the run's value was read. Returns the set of indices of the quoted values."""
    quoted = set()
    for w in written:
        if any(_fits(d, w) for d in decoys):
            continue
        for k, v in enumerate(values):
            if k not in quoted and _fits(v, w) and _informative(v, w):
                quoted.add(k)
                break
    return quoted


def _segments(text):
    """The answer cut into its parts: a part starts at a list marker (``-``, ``*``, ``1.``) or after a blank line."""
    parts, current = [], []
    for line in text.splitlines():
        if (_MARKER.match(line) or not line.strip()) and current:
            parts.append("\n".join(current))
            current = []
        if line.strip():
            current.append(line)
    if current:
        parts.append("\n".join(current))
    return parts


def _tabular(text):
    """Whether ``text`` holds a pasted table: two lines or more of numbers in aligned columns or between bars."""
    rows = 0
    for line in text.splitlines():
        stripped = line.strip()
        columns = stripped.startswith("|") and stripped.count("|") >= 3
        aligned = "\t" in stripped or len(re.findall(r"\S {2,}(?=\S)", stripped)) >= 2
        if (columns or aligned) and len(_TOKEN.findall(stripped)) >= 2:
            rows += 1
    return rows >= 2


def _part_spec(name, spec, label):
    """A rubric entry ``(words, numbers[, how many])`` as (alternatives, numbers, how many)."""
    if isinstance(spec, str) or not isinstance(spec, (tuple, list)) or len(spec) not in (2, 3):
        fail(label, f"`parts`[{name!r}] should be (words, numbers) or (words, numbers, how many); got {spec!r}.")
    words = (spec[0],) if isinstance(spec[0], str) else tuple(spec[0])
    numbers = _measured_values(spec[1], label)
    need = int(spec[2]) if len(spec) == 3 else 1
    return words, numbers, need


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
                   measured: Iterable = (), min_quoted: int = 2, label: str | None = None,
                   parts: Mapping | None = None, allowed: Iterable = (), decoys: Iterable = ()) -> None:
    """Check a written answer: filled in, every required part there and backed by the run's own numbers.

    Every problem of the chapter 4 exercises ends with one. ``parts`` is the question's rubric: for each part it
    asks for, the words that name it and the measured numbers that back it; the part is found in the answer (a
    list item or paragraph naming it) and must quote its own numbers there, so one part cannot stand in for
    another. A number quotes a measured value when it is that value rounded (to at least two significant digits,
    or a whole count of 10 or more) and not also a value of the lesson or the theory (``decoys``); an invented
    number a few percent off does not. An answer that is still the template, pastes a table, a dict or a list,
    writes unrounded floats, or writes far more numbers than it quotes is refused; coordinates, sizes and counts
    the question asks for (``allowed``) are not counted against it. The check does not grade the reasoning (that
    is the teacher's part).

    Args:
        text: The learner's answer (an f-string built from the run).
        problem: The problem's number, for the label of the messages.
        must_mention: Words (or tuples of alternatives) the answer must contain anywhere.
        measured: Numbers the run produced; at least ``min_quoted`` of them must be quoted.
        min_quoted: How many measured numbers the answer must quote in all.
        label: The label of the messages (default "Problem <problem> (written answer)").
        parts: The rubric: part name -> (words or tuple of alternative words, the measured numbers that back it,
            optionally how many of them the part must quote, default 1).
        allowed: Numbers the question asks for that are not measurements (coordinates, sizes, counts).
        decoys: Values of the lesson or the theory that must not pass as the run's own (e.g. a slope of -0.5).

    Raises:
        CheckFailed: A part is missing or quotes too few of its numbers, too few measured numbers are quoted, or
            the answer pastes or dumps numbers.
        NotAnsweredYet: The answer is None, empty or still the template.

    Example:
        >>> import xai_helpers.check as check
        >>> rubric = {"resolution": ("grid", [224, 7]), "noise": (("noise", "rough"), [0.6123, 0.0512])}
        >>> check.written_answer("- Resolution: a 7x7 grid against 224x224 pixels.\\n- Noise: roughness 0.61 against "
        ...                      "0.051.", problem=1, parts=rubric, measured=[0.6123, 0.0512], min_quoted=2)
        ✓ Problem 1 (written answer): filled in, covers 2 required part(s), quotes 3 measured number(s).
        >>> check.written_answer("- Resolution: a 7x7 grid against 224x224 pixels.\\n- Noise: the gradient is "
        ...                      "rough (0.6).", problem=1, parts=rubric)
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.CheckFailed: Problem 1 (written answer): the part about noise quotes 0 of the numbers ...
    """
    label = label or f"Problem {problem} (written answer)"
    values = _measured_values(measured, label)
    rubric = {name: _part_spec(name, spec, label) for name, spec in (parts or {}).items()}
    if not isinstance(text, str) or not text.strip() or "..." in text or "YOUR ANSWER" in text.upper():
        raise NotAnsweredYet(f"{label}: the answer is still empty or the template (replace every '...').")
    lowered = text.lower()
    for word in must_mention:
        options = (word,) if isinstance(word, str) else tuple(word)
        if not any(o.lower() in lowered for o in options):
            fail(label, f"the answer does not discuss {' / '.join(options)!r}, which the question asks about.")
    if _LONG_DECIMAL.search(text) or _PASTED.search(text):
        fail(label, "the answer contains unrounded numbers or a pasted tensor, dict or list: it should quote each "
                    "number rounded, inside a sentence that says what it shows.")
    if _tabular(text):
        fail(label, "the answer contains a pasted table: it should quote the few numbers that carry each point, "
                    "inside sentences that say what they show.")
    decoys = _measured_values(decoys, label)
    segments = _segments(text)
    for name, (words, numbers, need) in rubric.items():
        found = [seg for seg in segments if any(w.lower() in seg.lower() for w in words)]
        if not found:
            fail(label, f"the answer has no part about {name} ({' / '.join(words)}), which the question asks for.")
        need = min(need, sum(1 for v in numbers if _quotable(v)))
        quoted = _quoting(numbers, _written_numbers("\n".join(found)), decoys)
        if len(quoted) < need:
            fail(label, f"the part about {name} quotes {len(quoted)} of the numbers your run measured for it, where it "
                        f"should be backed by at least {need} of them (quoted as your run rounds them, not a lesson's "
                        "or the theory's values).")
    everything = values + [v for _, numbers, _ in rubric.values() for v in numbers]
    written = _written_numbers(text)
    quoted = _quoting(everything, written, decoys)
    need = min(min_quoted, sum(1 for v in set(everything) if _quotable(v)))
    if len(quoted) < need:
        fail(label, f"the answer quotes {len(quoted)} of the numbers your run measured; back your claims with at "
                    f"least {need} of them, as your run rounds them.")
    known = everything + _measured_values(allowed, label)
    supported = sum(any(_fits(v, w) for v in known) for w in written)
    if len(written) > 3 * max(supported, 1) + 8:
        fail(label, f"the answer writes {len(written)} numbers but only {supported} of them are your measured "
                    "values: it lists numbers instead of quoting the few that back each claim.")
    ok(label, f"filled in, covers {len(rubric) or len(must_mention)} required part(s), quotes {len(quoted)} measured "
              "number(s).")
