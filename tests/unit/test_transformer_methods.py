"""Gradient-weighted rollout, value-norm attention and patch occlusion on a small random ViT: each equal to a direct
transcription of its paper or to Captum, with hooks removed and the model left as it was."""
import pytest
import torch

import xai_helpers as xh
from helpers import hook_count
from xai_helpers.models.vit import TinyViT, VisionModel


@pytest.fixture(scope="module")
def vit():
    torch.manual_seed(0)
    net = TinyViT(image_size=24, patch_size=8, depth=3, dim=12, heads=3, mlp_dim=16, stem_channels=4).eval()
    for p in net.parameters():
        p.requires_grad_(False)                      # frozen, as the loaders leave it
    return VisionModel(name="tiny", model=net, labels=[str(i) for i in range(10)], image_size=24, patch_size=8,
                       device=torch.device("cpu"))


@pytest.fixture(scope="module")
def image():
    return torch.rand(1, 1, 24, 24, generator=torch.Generator().manual_seed(1))


def test_gradient_rollout_is_chefer_et_al_eq_5_and_6(vit, image):
    """R = I; R += mean_h((dS/dA * A)+) @ R layer by layer, with the weights the ViT returns itself."""
    x = image.clone().requires_grad_(True)
    logits, attentions = vit.model(x, output_attentions=True)
    grads = torch.autograd.grad(logits[0, 4], attentions)
    expected = torch.eye(10)
    for A, g in zip(attentions, grads):
        expected = expected + (g * A).clamp(min=0).mean(1)[0].detach() @ expected
    R = xh.methods.gradient_rollout(vit, image, 4)
    torch.testing.assert_close(R, expected, rtol=1e-5, atol=1e-7)
    assert not torch.allclose(R, xh.methods.gradient_rollout(vit, image, 7))      # class-specific, unlike rollout
    assert hook_count(vit.model) == 0 and all(not p.requires_grad for p in vit.model.parameters())


def test_value_norm_attention_decomposes_the_attention_output(vit, image):
    """sum_h sum_j alpha^h_ij f_h(x_j) + b_O is each layer's attention output (Kobayashi et al. 2020, eq. 4)."""
    inputs, outputs = [], []
    hooks = [b.attn.register_forward_hook(lambda m, a, o: inputs.append(a[0]) or outputs.append(o)) for b in
             vit.model.blocks]
    vit.model(image)
    for h in hooks:
        h.remove()
    per_head = xh.methods.value_norm_attention(vit, image)
    layer = xh.methods.value_norm_attention(vit, image, combine_heads=True)
    assert per_head.shape == (3, 3, 10, 10) and layer.shape == (3, 10, 10)
    for k, (block, x, (out, alpha)) in enumerate(zip(vit.model.blocks, inputs, outputs)):
        attn, dim, heads = block.attn, 12, 3
        v = (x[0] @ attn.qkv.weight[2 * dim:].T + attn.qkv.bias[2 * dim:]).view(10, heads, dim // heads)
        w = attn.proj.weight
        f = torch.stack([v[:, h] @ w[:, h * 4:(h + 1) * 4].T for h in range(heads)])        # [heads, j, dim]
        moved = alpha[0][..., None] * f[:, None]                                          # [heads, i, j, dim]
        torch.testing.assert_close(moved.sum((0, 2)) + attn.proj.bias, out[0], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(per_head[k], moved.norm(dim=-1), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(layer[k], moved.sum(0).norm(dim=-1), rtol=1e-5, atol=1e-6)
    assert hook_count(vit.model) == 0


@pytest.mark.parametrize("fill", [0.0, 0.5])
def test_patch_occlusion_equals_captum_occlusion_with_patch_windows(vit, image, fill):
    from captum.attr import Occlusion
    ours = xh.methods.patch_occlusion(vit, image, 6, fill=fill, batch_size=4)
    theirs = Occlusion(vit.model).attribute(image, sliding_window_shapes=(1, 8, 8), strides=(1, 8, 8), baselines=fill,
                                            target=6)
    torch.testing.assert_close(ours, theirs[0, 0, ::8, ::8], rtol=1e-5, atol=1e-6)
    assert ours.shape == (3, 3) and ours.abs().max() > 0


def test_the_functions_refuse_a_model_without_attention_they_know(vit, image):
    cnn = xh.models.cam_head_net("pool")
    with pytest.raises(TypeError, match="VisionModel"):
        xh.methods.gradient_rollout(cnn, image, 0)
    with pytest.raises(ValueError, match="one image at a time"):
        xh.methods.value_norm_attention(vit, torch.rand(2, 1, 24, 24))
