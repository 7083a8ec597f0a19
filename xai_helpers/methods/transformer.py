"""What to read instead of raw attention (sections 4.4a, 4.4b): gradient-weighted rollout, value-norm weighting and
occlusion of tokens or patches.

* ``gradient_rollout`` (Chefer, Gur & Wolf 2021, "Generic attention-model explainability for interpreting bi-modal
  and encoder-decoder transformers", ICCV, arXiv:2103.15679, eq. 5-6): each layer's attention ``A`` is weighted by
  the gradient of the class score, ``Abar = mean_h max(0, dS/dA * A)``, and relevancies are propagated from the
  identity, ``R <- R + Abar @ R``. Unlike rollout it is class-specific and drops heads whose attention works
  AGAINST the class.
* ``value_norm_attention`` (Kobayashi et al. 2020, "Attention is not only a weight: analyzing transformers with
  vector norms", EMNLP, arXiv:2004.10102): the attention output of token i is ``sum_j alpha_ij f(x_j)`` with
  ``f(x) = (x W_V + b_V) W_O`` (the value vector times the output projection); ``||alpha_ij f(x_j)||`` is what
  token j actually adds to token i. A [CLS] or [SEP] that takes much attention but whose ``f`` is short adds
  little: the attention-sink no-op.
* ``token_occlusion`` / ``patch_occlusion``: leave one token (replaced by [MASK]) or one patch (filled) out and
  record the drop of the class score: the model-agnostic yardstick. Equal to Captum's ``FeatureAblation`` on the
  token ids and ``Occlusion`` with patch-sized windows.

The models: a ``VisionModel`` (the course's ``TinyViT`` or a Hugging Face ViT) or a ``TextClassifier`` (the course's
MiniLM sentiment classifier or a hub one). Attention weights are read with forward hooks on the attention modules
(``TinyViT``'s ``Attention``; a BERT/ViT ``...SelfAttention`` of transformers, loaded with eager attention, which
returns its weights), kept in the graph so their gradient can be taken. The hooks live in a context manager and are
removed on exit, also on errors.
"""
import contextlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .._typecheck import checked
from .._validate import check_count, eval_mode, resolve_target
from ..models.sentiment import TextClassifier
from ..models.vit import Attention as TinyAttention
from .kinds import LoadedTextClassifier, LoadedVisionModel, Target
from .vit import _vit_input

__all__ = ["gradient_rollout", "value_norm_attention", "token_occlusion", "patch_occlusion"]

#: A transformer the functions explain: the course's ViT (or a hub ViT) or a text classifier.
Transformer = LoadedVisionModel | LoadedTextClassifier
#: What they explain: an image for a ViT (pixels, a photo name, path or PIL image), a sentence for a text classifier.
TransformerInput = torch.Tensor | np.ndarray | str | Path | Image.Image


def _attention_modules(net):
    """[(module, value Linear or None, output Linear)] of every self-attention layer, in order of depth."""
    found = []
    for name, module in net.named_modules():
        if isinstance(module, TinyAttention):
            found.append((module, None, module.proj))
        elif all(isinstance(getattr(module, a, None), torch.nn.Linear) for a in ("query", "key", "value")):
            parent = net.get_submodule(name.rsplit(".", 1)[0]) if "." in name else net
            dense = getattr(getattr(parent, "output", None), "dense", None)
            if not isinstance(dense, torch.nn.Linear):
                raise ValueError(f"The attention layer {name!r} has no output projection at '<parent>.output.dense'; "
                                 "this function knows the course's TinyViT and BERT/ViT models of transformers.")
            found.append((module, module.value, dense))
    if not found:
        raise ValueError("The model has no self-attention layer these functions know (the course's TinyViT "
                         "Attention, or a transformers ...SelfAttention with query/key/value): pass a VisionModel "
                         "from load_vit_model() or a TextClassifier from load_text_classifier().")
    return found


@contextlib.contextmanager
def _recorded_attention(net):
    """Forward hooks on every attention layer: yields a list, per forward pass, of (input hidden states, weights)."""
    layers = _attention_modules(net)
    records = []

    def hook(module, args, kwargs, output):
        hidden = args[0] if args else kwargs.get("hidden_states")
        weights = output[1] if isinstance(output, tuple) and len(output) > 1 else None
        if weights is None:
            raise ValueError("The attention layer returned no weights: load the model with attn_implementation="
                             "'eager' (the course's loaders do), as PyTorch's fused kernel never forms them.")
        records.append((hidden, weights))

    handles = [module.register_forward_hook(hook, with_kwargs=True) for module, _, _ in layers]
    try:
        yield layers, records
    finally:
        for handle in handles:
            handle.remove()


def _run(model, x, grad=False):
    """One forward pass of ``model`` on the one input ``x`` -> (logits [1, classes], token strings or None).

    ``grad``: the first representation (the pixels; a text model's embeddings, through a forward hook removed on
    exit) becomes a leaf that requires a gradient, so the attention weights of a frozen model are in a graph."""
    if isinstance(model, TextClassifier):
        if not isinstance(x, str) or not x.strip():
            raise TypeError(f"x must be one non-empty sentence (a str) for a text classifier; got {type(x).__name__}.")
        batch = model.encode([x])
        leaf = model.embeddings.register_forward_hook(lambda m, a, out: out.detach().requires_grad_(True)) \
            if grad else None
        try:
            logits = model.model(batch["input_ids"], batch["attention_mask"])
        finally:
            if leaf is not None:
                leaf.remove()
        return logits, model.tokenizer.convert_ids_to_tokens(batch["input_ids"][0].tolist())
    batch = _vit_input(model, x)
    if len(batch) != 1:
        raise ValueError(f"x holds {len(batch)} images; these functions explain one image at a time: pass x[i:i+1].")
    out = model.model(batch.detach().requires_grad_(True) if grad else batch)
    return getattr(out, "logits", out), None


@checked
def gradient_rollout(model: Transformer, x: TransformerInput, target: Target) -> torch.Tensor:
    """Gradient-weighted attention rollout (Chefer et al. 2021, eq. 5-6) -> relevancies [tokens, tokens]; 4.4a/b.

    ``R = I``; for each layer from the input up, ``Abar = mean over heads of max(0, dS/dA * A)`` with ``A`` the
    layer's attention weights and ``S`` the target's logit, and ``R <- R + Abar @ R``. Row i of ``R`` says how much
    each token is relevant to token i's final representation, for this class. Read ``R[0, 1:]`` (the [CLS] row over
    the patches; ``.view(grid, grid)`` for a ViT) where the head reads [CLS], and ``R.mean(0)`` for the course's
    sentiment classifier, which averages all tokens.

    Args:
        model: A ``VisionModel`` (``load_vit_model``) or a ``TextClassifier`` (``load_text_classifier``).
        x: One image (course ViT: pixels HxW / 1xHxW / 1x1xHxW in [0, 1]; hub ViT: a photo) or one sentence.
        target: The class whose logit is explained: an index, a class name or a one-element tensor.

    Returns:
        The relevancy matrix, a float CPU tensor [tokens, tokens] (token 0: [CLS]).

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> vit = xh.load_vit_model()
        >>> R = xh.methods.gradient_rollout(vit, torch.rand(48, 48), 3)
        >>> tuple(R.shape), tuple(R[0, 1:].view(vit.grid, vit.grid).shape)
        ((37, 37), (6, 6))
    """
    net = model.model
    with eval_mode(net), _recorded_attention(net) as (layers, records), torch.enable_grad():
        logits, _ = _run(model, x, grad=True)
        target = resolve_target(target, logits.shape[-1], model.labels)
        weights = [w for _, w in records]
        grads = torch.autograd.grad(logits[0, target], weights, allow_unused=True)
    n = weights[0].shape[-1]
    R = torch.eye(n, dtype=torch.float32)
    for A, g in zip(weights, grads):
        g = torch.zeros_like(A) if g is None else g
        A_bar = (g * A).clamp(min=0).mean(dim=1)[0].detach().float().cpu()      # eq. 5: E_h[(grad ⊙ A)+]
        R = R + A_bar @ R                                                       # eq. 6
    return R


@checked
def value_norm_attention(model: Transformer, x: TransformerInput, target: Target | None = None, *,
                         combine_heads: bool = False) -> torch.Tensor:
    """Attention weighted by the size of what is moved (Kobayashi et al. 2020): ``||alpha_ij f(x_j)||``; 4.4a/b.

    ``f_h(x_j) = v_h(x_j) W_O^h`` is head h's value vector of token j (``x_j`` the attention layer's input) times
    head h's block of the output projection; ``sum_j sum_h alpha^h_ij f_h(x_j)`` plus the output bias IS the
    attention layer's output for token i. ``combine_heads=False``: ``||alpha^h_ij f_h(x_j)||`` per head;
    ``True``: ``||sum_h alpha^h_ij f_h(x_j)||``, the whole layer's share of token j in token i (the paper's
    Fig. 3). Not class-specific: ``target`` is accepted for the common call shape and ignored.

    Args:
        model: A ``VisionModel`` (``load_vit_model``) or a ``TextClassifier`` (``load_text_classifier``).
        x: One image or one sentence, as for ``gradient_rollout``.
        target: Ignored (the norms do not depend on a class).
        combine_heads: Sum the heads' vectors before taking the norm.

    Returns:
        A float CPU tensor [layers, heads, tokens, tokens], or [layers, tokens, tokens] with ``combine_heads``.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> norms = xh.methods.value_norm_attention(xh.load_vit_model(), torch.rand(48, 48))
        >>> tuple(norms.shape), bool((norms >= 0).all())
        ((4, 4, 37, 37), True)
    """
    net = model.model
    out = []
    with torch.no_grad(), eval_mode(net), _recorded_attention(net) as (layers, records):
        _run(model, x)
        for (module, value, dense), (hidden, alpha) in zip(layers, records):
            heads, n = alpha.shape[1], alpha.shape[-1]
            dim = dense.in_features
            if value is None:                                   # TinyViT: q, k, v come from one Linear
                v = torch.nn.functional.linear(hidden, module.qkv.weight[2 * dim:], module.qkv.bias[2 * dim:])
            else:
                v = value(hidden)
            v = v[0].view(n, heads, dim // heads)                                   # [tokens, heads, head_dim]
            w_o = dense.weight.view(dense.out_features, heads, dim // heads)        # [out, heads, head_dim]
            f = torch.einsum("nhd,ohd->hno", v, w_o)                                # f_h(x_j): [heads, tokens, out]
            moved = alpha[0].unsqueeze(-1) * f.unsqueeze(1)                         # [heads, i, j, out]
            out.append((moved.sum(0) if combine_heads else moved).norm(dim=-1).float().cpu())
    return torch.stack(out)


@checked
def token_occlusion(model: LoadedTextClassifier, x: str, target: Target, *, replacement: str = "[MASK]"
                    ) -> tuple[list[str], torch.Tensor]:
    """Leave-one-out for a sentence: each token in turn replaced by ``replacement`` -> the drop of the logit; 4.4a.

    ``score(x) - score(x with token i replaced)`` for every token (the special tokens too: their row shows what
    [CLS] and [SEP] carry), in one batched forward pass. Equal to Captum's
    ``FeatureAblation(forward).attribute(input_ids, baselines=<replacement id>, target=target,
    additional_forward_args=(attention_mask,))`` with one feature per token.

    Args:
        model: A ``TextClassifier`` (``load_text_classifier``).
        x: One sentence.
        target: The class whose logit is followed: an index, a class name or a one-element tensor.
        replacement: The token put in place of each token, one of the tokenizer's tokens (default its [MASK]).

    Returns:
        ``(tokens, drops)``: the token strings and a float CPU tensor of their logit drops (positive: the token
        supported the class).

    Example:
        >>> import xai_helpers as xh
        >>> tokens, drops = xh.methods.token_occlusion(xh.load_text_classifier(), "A great film.", "positive")
        >>> tokens, drops.shape[0] == len(tokens)
        (['[CLS]', 'a', 'great', 'film', '.', '[SEP]'], True)
    """
    if not isinstance(x, str) or not x.strip():
        raise ValueError(f"x must be one non-empty sentence, got {x!r}.")
    tokenizer = model.tokenizer
    replacement_id = tokenizer.convert_tokens_to_ids(replacement)
    if replacement_id is None or replacement_id == tokenizer.unk_token_id and replacement != tokenizer.unk_token:
        raise ValueError(f"replacement={replacement!r} is not a token of this tokenizer; use e.g. "
                         f"{tokenizer.mask_token!r} or {tokenizer.pad_token!r}.")
    batch = model.encode([x])
    ids, mask = batch["input_ids"], batch["attention_mask"]
    n = ids.shape[1]
    occluded = ids.repeat(n, 1)
    occluded[torch.arange(n), torch.arange(n)] = replacement_id
    with torch.no_grad(), eval_mode(model.model):
        logits = model.model(torch.cat([ids, occluded]), mask.repeat(n + 1, 1))
        target = resolve_target(target, logits.shape[-1], model.labels)
    scores = logits[:, target].float().cpu()
    return tokenizer.convert_ids_to_tokens(ids[0].tolist()), scores[0] - scores[1:]


@checked
def patch_occlusion(model: LoadedVisionModel, x: TransformerInput, target: Target, *, fill: float = 0.0,
                    batch_size: int = 64) -> torch.Tensor:
    """Occlusion of a ViT's patches: each patch in turn filled with ``fill`` -> the drop of the logit; 4.4b.

    ``score(x) - score(x with patch k filled)`` on the patch grid. Equal to Captum's
    ``Occlusion(model).attribute(x, sliding_window_shapes=(C, p, p), strides=(C, p, p), baselines=fill,
    target=target)`` read at one pixel per patch (its windows do not overlap, so every pixel of a patch gets
    the patch's drop). ``fill`` is in the model's input space (the course's ViT reads pixels: 0 is black).

    Args:
        model: A ``VisionModel`` (``load_vit_model``).
        x: One image, as for ``gradient_rollout``.
        target: The class whose logit is followed: an index, a class name or a one-element tensor.
        fill: The value of an occluded patch, in the model's input space.
        batch_size: Occluded images per forward pass.

    Returns:
        The drops, a float CPU tensor [grid, grid] (positive: the patch supported the class).

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> tuple(xh.methods.patch_occlusion(xh.load_vit_model(), torch.rand(48, 48), 7).shape)
        (6, 6)
    """
    batch_size = check_count(batch_size, "batch_size")
    if isinstance(fill, bool) or not isinstance(fill, (int, float)) or not np.isfinite(fill):
        raise ValueError(f"fill must be a finite number (the occluded patch's value), got {fill!r}.")
    image = _vit_input(model, x)
    if len(image) != 1:
        raise ValueError(f"x holds {len(image)} images; patch_occlusion explains one image at a time: pass x[i:i+1].")
    p, (h, w) = model.patch_size, image.shape[-2:]
    rows, cols = h // p, w // p
    occluded = image.repeat(rows * cols, 1, 1, 1)
    for k in range(rows * cols):
        r, c = divmod(k, cols)
        occluded[k, :, r * p:(r + 1) * p, c * p:(c + 1) * p] = fill
    with torch.no_grad(), eval_mode(model.model):
        logits = _logits(model.model, image)
        target = resolve_target(target, logits.shape[-1], model.labels)
        after = torch.cat([_logits(model.model, occluded[i:i + batch_size])[:, target]
                           for i in range(0, len(occluded), batch_size)])
    return (logits[0, target] - after).float().cpu().view(rows, cols)


def _logits(net, batch):
    out = net(batch)
    return getattr(out, "logits", out)
