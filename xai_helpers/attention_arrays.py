"""Arrays of attention weights: stacking a model's per-layer output, picking layers, heads and tokens.

Shared by the attention maths (``methods.attention``) and the attention plots (``viz.attention``); it sits in
the bottom layer because ``viz`` draws arrays and imports nothing above the bottom layer.
"""
import numpy as np
import torch

__all__ = ["stack_attentions", "select_attention", "check_index", "special_token_mask", "token_position"]


def stack_attentions(attentions):
    """Per-layer tuple of [batch, heads, seq, seq] (or a tensor) -> float CPU tensor [layers, heads, seq, seq].

    A batch of B > 1 gives [B, layers, heads, seq, seq].
    """
    if isinstance(attentions, (tuple, list)):
        if len(attentions) == 0:
            raise ValueError("No attention weights: the model returned an empty tuple. In transformers 5 "
                             "the default SDPA attention never forms the weights -- load the model with "
                             "attn_implementation='eager' (load_text_model does) and pass "
                             "output_attentions=True.")
        a = torch.stack([torch.as_tensor(x) for x in attentions], dim=1)  # [B, L, H, S, S]
        a = a[0] if a.shape[0] == 1 else a
    else:
        a = torch.as_tensor(attentions)
    if a.dim() not in (4, 5) or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"Attention must be [layers, heads, seq, seq] (or the model's tuple of [1, heads, "
                         f"seq, seq]); got shape {tuple(a.shape)}.")
    return a.detach().float().cpu()


def select_attention(attentions, layers=None, heads=None):
    """One example's attention as [layers, heads, seq, seq], keeping only ``layers`` / ``heads`` (an int or a list)."""
    a = stack_attentions(attentions)
    if a.dim() != 4:
        raise ValueError(f"Expected one example's attention [layers, heads, seq, seq]; got {tuple(a.shape)}.")
    if layers is not None:
        a = a[[layers] if isinstance(layers, int) else list(layers)]
    if heads is not None:
        a = a[:, [heads] if isinstance(heads, int) else list(heads)]
    return a


def check_index(i, n, what):
    """``i`` as an index into ``n`` items (negative counts from the end); out of range -> ValueError naming ``what``."""
    if not isinstance(i, (int, np.integer)) or not -n <= i < n:
        raise ValueError(f"{what}={i!r} is out of range: there are {n} {what}s (0 ... {n - 1}).")
    return int(i) % n


def special_token_mask(tokens, special_tokens):
    """Boolean array: which ``tokens`` are special (``special_tokens``, default BERT's and RoBERTa's markers)."""
    special = set(special_tokens if special_tokens is not None else ("[CLS]", "[SEP]", "[PAD]", "<s>", "</s>"))
    return np.array([t in special for t in tokens])


def token_position(tokens, token):
    """A query given as a position (int) or a token string (its first occurrence) -> position."""
    if isinstance(token, (int, np.integer)):
        return check_index(token, len(tokens), "position")
    if token not in tokens:
        raise ValueError(f"Token {token!r} is not in the sentence; its tokens are {tokens}. Pass one of them "
                         "or a position (int).")
    return tokens.index(token)
