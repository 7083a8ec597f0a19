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
        check().written_answer("Resolution 7, noise 0.61.", 1, measured=measured, min_quoted=2)
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


def test_one_thread_restores_the_number_of_threads_even_after_an_error():
    from xai_helpers.check.common import one_thread
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with one_thread():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError):
            with one_thread():
                raise RuntimeError("boom")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


def test_timing_mistakes_are_named_from_the_ratio_to_the_checks_own_timing():
    from xai_helpers.check.common import timing_mistake
    own = {16: 0.5}
    assert timing_mistake({1: 0.04, 4: 0.13, 16: 0.52}, own) is None                  # one call, timed right
    assert "milliseconds" in timing_mistake({1: 40.0, 4: 130.0, 16: 520.0}, own)
    assert "nanoseconds" in timing_mistake({1: 4e7, 4: 1.3e8, 16: 5.2e8}, own)
    assert "covers more than the one call" in timing_mistake({1: 0.08, 4: 0.26, 16: 1.04}, own)   # both seeds
    assert "covers more than the one call" in timing_mistake({1: 0.04, 4: 0.3, 16: 0.95}, own)    # one timer
    assert "unit is not seconds" in timing_mistake({1: 0.0007, 4: 0.002, 16: 0.009}, own)        # minutes


def test_on_a_busy_machine_only_the_unit_of_the_times_is_judged():
    """A right answer timed in a busy moment (2.6 x the check's own time, as measured in an autograde beside other
    work) is not refused; units stay named, since no load makes a time 60 or 1000 times off."""
    from xai_helpers.check.common import timing_mistake
    own = {16: 0.5}
    busy_moment = {1: 0.1, 4: 0.34, 16: 1.3}
    assert "covers more than the one call" in timing_mistake(busy_moment, own)
    assert timing_mistake(busy_moment, own, busy=True) is None
    assert timing_mistake({1: 0.016, 4: 0.05, 16: 0.2}, own, busy=True) is None           # a quiet moment of the learner
    assert "milliseconds" in timing_mistake({1: 40.0, 4: 130.0, 16: 520.0}, own, busy=True)
    assert "unit is not seconds" in timing_mistake({1: 0.0007, 4: 0.002, 16: 0.009}, own, busy=True)


def test_the_machine_is_busy_when_the_load_exceeds_the_usable_cores(monkeypatch):
    import os
    from xai_helpers.check import common
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    monkeypatch.setattr(os, "getloadavg", lambda: (cores + 0.5, 0.0, 0.0))
    assert common.machine_is_busy()
    monkeypatch.setattr(os, "getloadavg", lambda: (cores - 0.5, 0.0, 0.0))
    assert not common.machine_is_busy()


def test_the_cost_of_the_plan_is_the_median_time_per_sample_and_each_other_cost_is_named(capsys):
    maps = (torch.ones(1, 3, 4, 4), torch.ones(1, 3, 4, 4))            # signal 1, target 0.5
    seconds = {1: 0.5, 4: 0.4, 16: 1.6}                                # the first run is slow (warm-up)
    results = {n: {"seconds": s, "maps": maps, "difference": 1.3 / n ** 0.5} for n, s in seconds.items()}
    n_needed = 7                                                       # (0.5 / 1.3) ** -2 = 6.76, rounded up
    plan = {"slope": -0.5, "intercept": math.log(1.3), "signal": 1.0, "target": 0.5, "n_needed": n_needed}
    check().problem2_plan(dict(plan, seconds_needed=n_needed * 0.1), results)       # median of 0.5, 0.1, 0.1
    assert "\u2713 Problem 2c" in capsys.readouterr().out
    wrong = {"uses the mean time per sample": n_needed * (0.5 + 0.1 + 0.1) / 3,
             "divides the total time by the total number of samples": n_needed * 2.5 / 21,
             "n_needed times the time of a whole run": n_needed * 1.6,
             "before it is made a whole number": 6.76 * 0.1,
             "is not n_needed times the median time per sample": n_needed * 0.1 * 1.01}
    for message, seconds_needed in wrong.items():
        with pytest.raises(check().CheckFailed, match=message):
            check().problem2_plan(dict(plan, seconds_needed=seconds_needed), results)


def test_counts_must_be_whole_numbers_and_defaults_are_compared_with_the_task():
    from xai_helpers.check.common import count, defaults_mistake
    assert count(612, "Task", "n") == 612 and count(612.0, "Task", "n") == 612 and count(np.int64(3), "Task", "n") == 3
    with pytest.raises(check().CheckFailed, match="not a whole number of samples"):
        count(611.4, "Task", "n_needed", "samples")
    with pytest.raises(check().CheckFailed, match="truth value"):
        count(True, "Task", "n")

    def right(image_model, x, target, n_samples=16, noise_level=0.15, seed=0, batch_size=4):
        return None

    def wrong(image_model, x, target, n_samples=16, noise_level=0.1, seed=0, batch_size=4):
        return None

    def missing(image_model, x, target, n_samples, noise_level=0.15, seed=0, batch_size=4):
        return None

    expected = {"n_samples": 16, "noise_level": 0.15, "seed": 0, "batch_size": 4}
    assert defaults_mistake(right, expected, "f") is None
    assert "default of `noise_level` in f is 0.1" in defaults_mistake(wrong, expected, "f")
    assert "`n_samples` of f has no default" in defaults_mistake(missing, expected, "f")


def test_a_learner_function_runs_without_the_notebooks_data_variables():
    from xai_helpers.check.common import call, isolated
    namespace = {"np": np, "image_model": object(), "SIZE": 224, "helper": len}
    exec("def f(x):\n    return image_model\ndef g(x):\n    return helper(x) + SIZE + int(np.sum(x))", namespace)
    with pytest.raises(check().CheckFailed, match="reads `image_model`, a variable of your notebook"):
        call(namespace["f"], "Task", [1])
    assert call(namespace["g"], "Task", [1, 2]) == 2 + 224 + 3           # modules, functions, constants stay
    assert isolated(namespace["g"]).__globals__ is not namespace
