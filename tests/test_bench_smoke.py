"""Smoke test of bench/run.py: its correctness checks run on a tiny CNN in a few seconds.

No timing is asserted here (speed is measured by `make bench`, never by the tests); this only checks
that the benchmark's three SmoothGrad implementations, its IG comparison and its Grad-CAM comparison
agree where they must, so a broken benchmark is caught before anyone reads its numbers.
"""
import importlib.util
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("xai_bench_run", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny(bench):
    model = bench.load_subject("tiny", "cpu")
    x = model.preprocess("cat")
    return model, x, bench.top1(model, x)


def test_smoothgrad_loop_noise_tunnel_and_helper_give_the_same_map(bench, tiny):
    model, x, target = tiny
    diffs = bench.check_smoothgrad_agreement(model, x, target, n_samples=6, seed=3, chunk=4)
    assert diffs["loop"] <= bench.MAP_TOLERANCE, diffs
    assert diffs["noise_tunnel"] <= bench.MAP_TOLERANCE, diffs


def test_seed_loop_trains_nothing_on_the_course_model(bench, tiny):
    model, x, target = tiny
    copy = bench.make_trainable_copy(model.model)
    bench.seed_smooth_grad_loop(copy, x, target, 0.1, 2, 0)
    assert all(p.requires_grad for p in copy.parameters())            # the source text's set-up
    assert not any(p.requires_grad for p in model.model.parameters())  # the course's model stays frozen


def test_a_different_seed_is_detected_as_a_different_map(bench, tiny):
    model, x, target = tiny
    a = bench.helper_smoothgrad(model, x, target, 4, 0, 2)
    b = bench.helper_smoothgrad(model, x, target, 4, 1, 2)
    assert bench.map_difference(a, b) > bench.MAP_TOLERANCE


def test_integrated_gradients_helper_equals_captum(bench, tiny):
    model, x, target = tiny
    for method in ("gausslegendre", "riemann_right"):
        r = bench.check_ig_agreement(model, x, target, n_steps=8, method=method, batch=3)
        assert r["attributions"] <= bench.MAP_TOLERANCE, (method, r)
        assert r["delta_ours"] == pytest.approx(r["delta_captum"], abs=1e-4)


def test_grad_cam_equals_captum(bench, tiny):
    model, x, target = tiny
    r = bench.check_cam_agreement(model, x, target)
    assert r["grad_cam_vs_captum"] <= bench.MAP_TOLERANCE
    assert r["grad_cam_pp_finite"]


def test_worker_reports_time_and_peak_memory(bench):
    out = bench._worker({"kind": "sg", "model": "tiny", "device": "cpu", "variant": "helper:2", "n": 2,
                         "seed": 0, "save": None})
    assert out["seconds"] > 0 and out["peak_rss"] >= out["rss_before"] > 0


def test_command_line(bench):
    args = bench.parse_args(["--quick", "--only", "smoothgrad,cam", "--models", "tiny"])
    assert args.repeats == 1 and args.only == ["smoothgrad", "cam"] and args.models == ["tiny"]
    with pytest.raises(SystemExit):
        bench.parse_args(["--only", "everything"])
