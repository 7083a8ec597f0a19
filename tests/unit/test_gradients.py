"""Vanilla gradients, Gradient x Input and SmoothGrad: Captum parity, determinism, errors."""
import pytest
import torch

import xai_helpers as xh


def test_no_parameter_gradients_are_computed_even_for_trainable_models(tiny_net):
    for p in tiny_net.parameters():
        p.requires_grad_(True)
        p.grad = None
    x = torch.rand(1, 3, 16, 16)
    xh.smoothgrad(tiny_net, x, 3, n_samples=3)
    xh.vanilla_gradients(tiny_net, x, 3)
    assert all(p.grad is None for p in tiny_net.parameters())


def test_plain_module_and_class_index(tiny_net):
    x = torch.rand(1, 3, 16, 16)
    assert xh.gradient_x_input(tiny_net, x, 9).shape == x.shape
    with pytest.raises(ValueError, match="out of range"):
        xh.vanilla_gradients(tiny_net, x, 10)
    with pytest.raises(ValueError, match="no class names"):
        xh.vanilla_gradients(tiny_net, x, "tabby")


def test_model_left_in_train_mode_is_explained_in_eval_mode_and_restored(tiny_net):
    x = torch.rand(1, 3, 16, 16)
    expected = xh.vanilla_gradients(tiny_net, x, 2)
    tiny_net.train()
    try:
        with pytest.warns(UserWarning, match="train mode"):
            got = xh.vanilla_gradients(tiny_net, x, 2)
        assert tiny_net.training
    finally:
        tiny_net.eval()
    assert torch.equal(got, expected)


def test_seed_to_seed_difference_of_signed_maps_falls_as_one_over_sqrt_n(tiny_net):
    # the copies are independent across chunks: 16x the samples -> the difference / sqrt(16) = 4
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))

    def seed_difference(n):
        a, b = (xh.smoothgrad(tiny_net, x, 3, n_samples=n, noise_level=0.2, batch_size=5, seed=s) for s in (0, 1))
        return float((a - b).norm())

    ratio = seed_difference(8) / seed_difference(128)
    assert 3.2 < ratio < 5.0, ratio
