"""xai_helpers.check: the shared pieces of the checkers, the written-answer check and the reload that restores them.

The per-task checkers are tested against reference and wrong answers in tests/integration/test_check_wrong_answers.py.
"""

import torch

import xai_helpers as xh


def test_second_normalisation_shares_the_network_and_only_changes_mean_and_std():
    from xai_helpers.check.common import IMAGENET_MEAN, imagenet_normalised
    model = xh.load_image_model()
    other = imagenet_normalised(model)
    assert other.model is model.model and other.labels is model.labels
    assert tuple(other.mean) == IMAGENET_MEAN and tuple(other.mean) != tuple(model.mean)
    pixels = torch.rand(1, 3, 8, 8)
    assert torch.allclose(other.denormalize(other.normalize(pixels)), pixels, atol=1e-6)
    assert imagenet_normalised(model) is other


def test_the_smoothgrad_check_runs_its_model_passes_on_one_thread_and_restores_the_notebooks(capsys):
    import check_answers as A
    model = xh.load_image_model()
    threads = []
    handle = model.model.register_forward_pre_hook(lambda _m, _inputs: threads.append(torch.get_num_threads()))
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        xh.check.problem2_smoothgrad(A.smoothgrad, model)
        assert torch.get_num_threads() == 2
    finally:
        handle.remove()
        torch.set_num_threads(previous)
    assert "\u2713 Problem 2a" in capsys.readouterr().out
    assert len(threads) > 10 and set(threads) == {1}
