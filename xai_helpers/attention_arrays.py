"""Arrays of attention weights: stacking a model's per-layer output, picking layers, heads and tokens.

Shared by the attention maths (``methods.attention``) and the attention plots (``viz.attention``); it sits in
the bottom layer because ``viz`` draws arrays and imports nothing above the bottom layer.
"""
from collections.abc import Sequence

import numpy as np
import torch

from ._typecheck import checked
from ._validate import check_attentions, readable_tensor

__all__ = ["stack_attentions", "select_attention", "check_index", "special_token_mask", "token_position",
           "Attentions", "Indices"]

#: Attention weights as the package takes them: a tensor or array [layers, heads, seq, seq] (a batch:
#: [batch, layers, heads, seq, seq]) or a model's per-layer tuple of [batch, heads, seq, seq] tensors.
Attentions = torch.Tensor | np.ndarray | Sequence[torch.Tensor]
#: Which layers or heads to keep: one index, several, or None for all.
Indices = int | Sequence[int] | None


@checked
def stack_attentions(attentions: Attentions) -> torch.Tensor:
    """A model's per-layer attention weights -> one float CPU tensor [layers, heads, seq, seq] (taught in 4.4a).

    A Hugging Face model called with ``output_attentions=True`` returns one tensor [batch, heads, seq, seq]
    per layer; the functions of ``methods`` read them stacked.

    Args:
        attentions: The model's tuple of [batch, heads, seq, seq] tensors, or a tensor or array that is
            already stacked: [layers, heads, seq, seq] or [batch, layers, heads, seq, seq].

    Returns:
        A float CPU tensor [layers, heads, seq, seq]; for a batch of B > 1, [B, layers, heads, seq, seq].

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> per_layer = tuple(torch.full((1, 2, 3, 3), 1 / 3) for _ in range(4))
        >>> tuple(xh.methods.stack_attentions(per_layer).shape)
        (4, 2, 3, 3)
    """
    if isinstance(attentions, (tuple, list)):
        if len(attentions) == 0:
            raise ValueError("attentions is empty: the model returned no attention weights. In transformers 5 "
                             "the default SDPA attention never forms the weights -- load the model with "
                             "attn_implementation='eager' (load_text_model does) and pass "
                             "output_attentions=True.")
        layers = [readable_tensor(a, f"attentions[{i}]") for i, a in enumerate(attentions)]
        if layers[0].dim() != 4 or any(a.shape != layers[0].shape for a in layers):
            raise ValueError(f"attentions must hold one [batch, heads, seq, seq] tensor per layer, all alike; got "
                             f"shapes {[tuple(a.shape) for a in layers]}.")
        a = torch.stack(layers, dim=1)  # [B, L, H, S, S]
        a = a[0] if a.dim() == 5 and a.shape[0] == 1 else a
    else:
        a = readable_tensor(attentions, "attentions")
    if a.dim() not in (4, 5) or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"attentions must be [layers, heads, seq, seq] (or the model's tuple of [1, heads, "
                         f"seq, seq]); got shape {tuple(a.shape)}.")
    if a.is_complex() or a.dtype == torch.bool:
        raise ValueError(f"attentions must hold real weights (softmax outputs); got {a.dtype}.")
    a = a.float().cpu()
    if not torch.isfinite(a).all():
        raise ValueError("attentions contains NaN or infinite values; attention weights are finite (each row "
                         "sums to 1).")
    return a


def select_attention(attentions, layers=None, heads=None, tokens=None):
    """One example's attention as [layers, heads, seq, seq], keeping only ``layers`` / ``heads`` (an int or a list).

    With ``tokens``, the number of positions must be their number (else a ValueError naming ``tokens``)."""
    a = check_attentions(attentions, tokens).cpu()    # already on the CPU: said here for the reader
    if layers is not None:
        a = a[_indices(layers, a.shape[0], "layer")]
    if heads is not None:
        a = a[:, _indices(heads, a.shape[1], "head")]
    return a


def _indices(chosen, n, what):
    """An index or a sequence of indices into ``n`` items -> a list of checked indices (negative from the end)."""
    chosen = [chosen] if isinstance(chosen, (int, np.integer)) else list(chosen)
    if not chosen:
        raise ValueError(f"{what}s is empty: pick at least one {what} (0 ... {n - 1}) or None for all.")
    return [check_index(i, n, what) for i in chosen]


def check_index(i, n, what):
    """``i`` as an index into ``n`` items (negative counts from the end); out of range -> ValueError naming ``what``."""
    if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)) or not -n <= i < n:
        raise ValueError(f"{what}={i!r} is out of range: there are {n} {what}s (0 ... {n - 1}).")
    return int(i) % n


def special_token_mask(tokens, special_tokens):
    """Boolean array: which ``tokens`` are special (``special_tokens``, default BERT's and RoBERTa's markers)."""
    special = set(special_tokens if special_tokens is not None else ("[CLS]", "[SEP]", "[PAD]", "<s>", "</s>"))
    return np.array([t in special for t in tokens], dtype=bool)


def token_position(tokens, token):
    """A query given as a position (int) or a token string (its first occurrence) -> position."""
    if isinstance(token, (int, np.integer)) and not isinstance(token, (bool, np.bool_)):
        return check_index(token, len(tokens), "position")
    if not isinstance(token, str) or token not in tokens:
        raise ValueError(f"Token {token!r} is not in the sentence; its tokens are {list(tokens)}. Pass one of them "
                         "or a position (int).")
    return list(tokens).index(token)
