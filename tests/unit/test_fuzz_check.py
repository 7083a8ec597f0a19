"""The exercise checkers and the shared measures of ``xai_helpers.check`` handed wrong kinds of arguments.

A learner hands a check cell whatever their notebook holds; every checker must answer a wrong kind with
feedback -- ``CheckFailed`` (the checkers' contract) or a TypeError/ValueError -- that names the argument or the
thing the learner was asked to build, never a raw error from inside numpy or torch. The valid call of each case
is a reference answer (tests/check_answers.py). These cases need no pretrained network; those that do are in
test_fuzz_check_models.py.
"""
import numpy as np
import pytest
import torch

import check_answers as A
import xai_helpers.check as check
from fuzz_support import Case, fuzz
from unit.test_fuzz import WRAPPED


FEEDBACK = (check.CheckFailed,)
YOUR_FUNCTION = ["your function", "function"]


def _runs():
    """Three SmoothGrad runs whose seed-to-seed difference falls as 1/sqrt(n) (Problem 2's measurements)."""
    maps = (torch.ones(1, 3, 4, 4), torch.ones(1, 3, 4, 4))
    return {n: {"seconds": 0.1 * n, "maps": maps, "difference": n ** -0.5} for n in (1, 4, 16)}


def _table_inputs():
    """Problem 3c's inputs on a 16x16 photo of the tiny model: baselines, IG results and the flower's mask."""
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    bases = A.baselines(WRAPPED, WRAPPED.normalize(x), blur_sigma=1.0)
    generator = torch.Generator().manual_seed(0)
    ig = {name: {"attributions": torch.randn((1, 3, 16, 16), generator=generator) + 0.05} for name in bases}
    rows, cols = np.mgrid[0:16, 0:16]
    return WRAPPED.normalize(x), bases, ig, (cols - 8) ** 2 + (rows - 8) ** 2 <= 5 ** 2


def _table_case():
    x, bases, ig, mask = _table_inputs()
    return dict(table=A.table(WRAPPED, x, bases, ig, mask), image_model=WRAPPED, x=x, baselines=bases, ig=ig,
                mask=mask)


def _evidence_case():
    generator = torch.Generator().manual_seed(1)
    classes, box = [698, 323], (150, 110, 221, 181)
    cams = {c: torch.rand((224, 224), generator=generator) for c in classes}
    igs = {c: torch.randn((1, 3, 224, 224), generator=generator) for c in classes}
    evidence, chance = A.evidence(cams, igs, classes, box)
    return dict(evidence=evidence, chance=chance, cams=cams, igs=igs, classes=classes, box=box)


def paste_region(images, region, donors):
    top, left, bottom, right = region
    out = images.clone()
    out[:, :, top:bottom, left:right] = images[donors][:, :, top:bottom, left:right]
    return out


MAP = np.outer(np.hanning(8), np.hanning(8))

CASES = {
    "problem1_box_share": Case(check.problem1_box_share, lambda: dict(box_share=A.box_share),
                               aliases={"box_share": YOUR_FUNCTION}, max_examples=15, feedback=FEEDBACK),
    "problem2_plan": Case(check.problem2_plan, lambda: dict(plan=A.plan(_runs()), results=_runs()),
                          max_examples=25, feedback=FEEDBACK),
    "problem3_table": Case(check.problem3_table, _table_case, aliases={"table": ["table_3"]}, max_examples=40,
                           feedback=FEEDBACK),
    "problem4_word_attention": Case(check.problem4_word_attention, lambda: dict(word_attention=A.word_attention),
                                    aliases={"word_attention": YOUR_FUNCTION}, max_examples=15, feedback=FEEDBACK),
    "problem5_evidence": Case(check.problem5_evidence, _evidence_case, max_examples=40, feedback=FEEDBACK),
    "problem6_paste": Case(check.problem6_paste, lambda: dict(paste_region=paste_region),
                           aliases={"paste_region": YOUR_FUNCTION}, max_examples=15, feedback=FEEDBACK),
    "written_answer": Case(check.written_answer, lambda: dict(
        text="Resolution: grid 7 against 224. Noise: roughness 0.61 vs 0.050.", problem=1,
        must_mention=["resolution", ("noise", "rough")], measured=[7, 0.61, np.float64(0.05)], min_quoted=2,
        label="Problem 1 (written answer)"), aliases={"text": ["answer"]}, max_examples=40, feedback=FEEDBACK),
    "numbers_in": Case(check.numbers_in, lambda: dict(text="p = 58.3%, rank 2"), max_examples=15),
    "roughness": Case(check.roughness, lambda: dict(heatmap=MAP), max_examples=15),
    "relative_difference": Case(check.relative_difference, lambda: dict(a=MAP, b=2 * MAP), max_examples=25),
    "rms_difference": Case(check.rms_difference, lambda: dict(a=torch.tensor(MAP), b=MAP), max_examples=25),
    "pearson": Case(check.pearson, lambda: dict(a=MAP, b=MAP.tolist()), max_examples=25),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_checker_answers_wrong_kinds_with_feedback(name, capsys):
    fuzz(CASES[name])
    assert capsys.readouterr().err == ""          # nbgrader scores a check cell 0 if it writes to stderr


def test_a_wrong_kind_of_answer_is_named_in_the_course_voice():
    with pytest.raises(check.CheckFailed, match=r"Problem 3c: `baselines` should be a mapping"):
        check.problem3_table(**dict(_table_case(), baselines=[1, 2]))
    with pytest.raises(check.NotAnsweredYet, match=r"Problem 6b: `paste_region` is not there yet"):
        check.problem6_paste(None)
    with pytest.raises(TypeError, match="roughness: heatmap must be"):
        check.roughness("map")


# --- answers of the wrong shape: feedback, never a crash ----------------------------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

_SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=5)
GARBAGE = st.deferred(lambda: st.one_of(
    st.none(), st.just(Ellipsis), st.booleans(), st.integers(-10, 300), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), hnp.arrays(np.float64, _SHAPES, elements=st.floats(-2, 2) | st.just(float("nan"))),
    _SHAPES.map(lambda shape: torch.full(shape, float("nan"))), _SHAPES.map(torch.rand),
    st.lists(GARBAGE, max_size=3), st.lists(GARBAGE, max_size=3).map(tuple),
    st.dictionaries(st.text(max_size=4) | st.integers(0, 20), GARBAGE, max_size=3)))


def _returns(value):
    return lambda *args, **kwargs: value


def _swapped(fn):
    """The learner's function with its result's items in the reverse order."""
    return lambda *args, **kwargs: tuple(reversed(fn(*args, **kwargs)))


def _garbled(valid, key, value):
    """``valid`` (a dict of dicts) with one entry, or one field of one entry, replaced by ``value``."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in valid.items()}
    first = next(iter(out))
    if key is None or not isinstance(out[first], dict):
        out[first] = value
    else:
        out[first][sorted(out[first])[key % len(out[first])]] = value
    return out


def _answer_cases(garbage, key):
    """Each checker's call with a wrong-shaped answer drawn from ``garbage``."""
    table = _table_case()
    evidence = _evidence_case()
    return {
        "problem1_box_share": lambda: check.problem1_box_share(_returns(garbage)),
        "problem2_plan": lambda: check.problem2_plan(_garbled({"plan": A.plan(_runs())}, None, garbage)["plan"]
                                                     if key is None else dict(A.plan(_runs()), signal=garbage), _runs()),
        "problem2_plan maps": lambda: check.problem2_plan(A.plan(_runs()), _garbled(
            {n: dict(r, maps=(r["maps"][0], garbage)) for n, r in _runs().items()}, None,
            {"seconds": 1.0, "maps": garbage, "difference": 0.5})),
        "problem3_table": lambda: check.problem3_table(**dict(table, table=_garbled(table["table"], key, garbage))),
        "problem4_word_attention": lambda: check.problem4_word_attention(_returns(garbage)),
        "problem4_word_attention swapped": lambda: check.problem4_word_attention(_swapped(A.word_attention)),
        "problem4_word_attention W": lambda: check.problem4_word_attention(
            lambda matrix, tokens: (A.word_attention(matrix, tokens)[0], garbage)),
        "problem5_evidence": lambda: check.problem5_evidence(**dict(evidence, evidence=_garbled(
            evidence["evidence"], key, garbage))),
        "problem5_evidence chance": lambda: check.problem5_evidence(**dict(evidence, chance=garbage)),
        "problem6_paste": lambda: check.problem6_paste(_returns(garbage)),
        "written_answer": lambda: check.written_answer(garbage, problem=1, measured=[0.61, 7]),
    }


@settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(garbage=GARBAGE, key=st.none() | st.integers(0, 5), which=st.sampled_from(sorted(_answer_cases(None, None))))
def test_every_checker_answers_a_wrong_shaped_answer_with_feedback(garbage, key, which):
    try:
        _answer_cases(garbage, key)[which]()
    except check.CheckFailed:
        pass                                     # feedback (NotAnsweredYet is a CheckFailed too)


def test_a_pair_in_the_wrong_order_gets_feedback_not_an_error():
    with pytest.raises(check.CheckFailed, match="wrong order"):
        check.problem4_word_attention(_swapped(A.word_attention))
