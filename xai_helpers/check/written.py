"""Checks of written answers: filled in, on topic, backed by the learner's own measured numbers.

A written answer is an f-string built from the run, so its numbers can be compared with the values
the run measured. The check does not grade the reasoning (that is the teacher's part); it refuses
an answer that is still the template, misses an aspect the question asks about, quotes too few of
the measured numbers, or dumps numbers instead of quoting them.
"""
import math
import re

import numpy as np

from .common import NotAnsweredYet, fail, ok

__all__ = ["numbers_in", "written_answer"]

_NUMBER = re.compile(r"(?<![\w.])[-+\u2212]?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?\s*%?")
_LONG_DECIMAL = re.compile(r"\d\.\d{6,}")


def numbers_in(text):
    """All numbers written in ``text`` (a trailing % divides by 100; '−' counts as a minus sign)."""
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


def written_answer(text, problem, must_mention=(), measured=(), min_quoted=2, label=None):
    """Check a written answer: filled in, mentions the required aspects, quotes numbers from the run.

    ``must_mention``: words (or tuples of alternatives) the answer must contain; ``measured``: numbers the
    run produced, of which at least ``min_quoted`` must appear in the text (to about 5 %). An answer that
    writes far more numbers than it quotes (a pasted table or dictionary), or unrounded floats, is refused.
    """
    label = label or f"Problem {problem} (written answer)"
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
    values = [float(m) for m in np.ravel(np.asarray(list(measured), dtype=float)) if np.isfinite(m)]
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

