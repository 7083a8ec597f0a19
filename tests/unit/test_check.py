"""xai_helpers.check: the shared pieces of the checkers, the written-answer check and the reload that restores them.

The per-task checkers are tested against reference and wrong answers in tests/integration/test_check_wrong_answers.py.
"""
import importlib
import math

import numpy as np
import pytest
import torch

import xai_helpers as xh


def check():
    return xh.check


def test_check_failed_is_an_assertion_error():
    assert issubclass(check().CheckFailed, AssertionError)
    assert issubclass(check().NotAnsweredYet, check().CheckFailed)


def test_roughness_scale_free_and_ordered():
    smooth = np.outer(np.hanning(32), np.hanning(32))
    speckle = np.random.default_rng(0).random((32, 32))
    assert check().roughness(smooth) < 0.2 < check().roughness(speckle)
    assert math.isclose(check().roughness(5 * speckle), check().roughness(speckle))
    with pytest.raises(ValueError, match="2-D"):
        check().roughness(np.zeros((3, 4, 4)))


def test_differences_and_correlation():
    a = np.arange(12.0).reshape(3, 4)
    assert check().rms_difference(a, a + 2) == pytest.approx(2.0)
    assert check().relative_difference(a, a) == 0
    assert check().pearson(a, 3 * a + 1) == pytest.approx(1.0)
    assert check().pearson(torch.tensor(a), -a) == pytest.approx(-1.0)


def test_numbers_in_reads_percent_minus_and_exponents():
    assert check().numbers_in("p = 58.3%, rank 2, r=-0.09, d 1.2e-03, \u22120.5") == \
        pytest.approx([0.583, 2, -0.09, 0.0012, -0.5])
    assert check().numbers_in("_blocks.12 and a 7\u00d77 grid") == pytest.approx([7, 7])


def test_written_answer_accepts_quotes_and_refuses_the_rest(capsys):
    measured = [0.466, 0.605, 7]
    assert check().written_answer("Resolution: 7x7 grid. Noise: roughness 0.61 vs 0.01. Class: r = 0.47.", 1,
                                  must_mention=["resolution", "noise", "class"], measured=measured) is None
    assert "\u2713 Problem 1 (written answer)" in capsys.readouterr().out
    with pytest.raises(check().NotAnsweredYet):
        check().written_answer("1. Resolution: ...\n2. Noise: ...", 1)
    with pytest.raises(check().NotAnsweredYet):
        check().written_answer(None, 1)
    with pytest.raises(check().CheckFailed, match="quotes 1 of the numbers"):
        check().written_answer("Resolution 7, noise high.", 1, measured=measured, min_quoted=2)
    # an answer may quote fewer numbers than asked when the run measured fewer
    assert check().written_answer("Resolution 7.", 1, measured=[7], min_quoted=3) is None


def test_reloading_the_checker_module_restores_replaced_checkers():
    import xai_helpers.check.problem1 as part
    original = check().problem1_box_share
    try:
        check().problem1_box_share = lambda *a, **k: None          # replaced in the package module
        part.problem1_box_share = lambda *a, **k: None             # and in the part it comes from
        restored = importlib.reload(xh.check)
        with pytest.raises(restored.CheckFailed, match="rows and columns are swapped"):
            restored.problem1_box_share(lambda m, box: float(np.asarray(m)[box[0]:box[2] + 1, box[1]:box[3] + 1].sum()
                                                             / np.asarray(m).sum()))
    finally:
        importlib.reload(xh.check)
    assert xh.check.problem1_box_share.__name__ == original.__name__ == "problem1_box_share"


def test_call_turns_learner_errors_into_feedback():
    from xai_helpers.check.common import call

    def broken(x):
        return x[10]

    def open_task(x):
        raise NotImplementedError()

    with pytest.raises(check().CheckFailed, match=r"raised IndexError.*broken\(\[1, 2\]\)"):
        call(broken, "Task", [1, 2])
    with pytest.raises(check().NotAnsweredYet, match="NotImplementedError"):
        call(open_task, "Task", 1)
    with pytest.raises(check().CheckFailed, match="expected your function"):
        call(None, "Task", 1)


def test_batch_sizes_records_and_always_removes_its_hook():
    from xai_helpers.check.common import batch_sizes
    net = torch.nn.Linear(3, 2)
    with batch_sizes(net) as sizes:
        net(torch.zeros(4, 3))
        net(torch.zeros(1, 3))
    assert sizes == [4, 1] and not net._forward_pre_hooks
    with pytest.raises(RuntimeError):
        with batch_sizes(net):
            raise RuntimeError("boom")
    assert not net._forward_pre_hooks
