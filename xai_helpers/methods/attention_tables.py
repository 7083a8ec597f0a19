"""Tables that read one sentence's attention word by word: who attends to whom, per layer and per head (4.4a).

Each function takes one example's attention weights ([layers, heads, seq, seq] or the model's per-layer tuple)
and the sentence's tokens, as ``attention_maps`` returns them.
"""
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from .._typecheck import checked
from ..attention_arrays import Attentions, Indices, check_index, select_attention, special_token_mask, token_position

__all__ = ["most_attended", "most_attended_table", "most_attended_by_layer", "token_attention_by_layer",
           "head_profile", "special_token_share"]

@checked
def most_attended(attentions: Attentions, tokens: Sequence[str], *, layers: Indices = None, heads: Indices = None,
                  exclude_special: bool = False, exclude_self: bool = False,
                  special_tokens: Sequence[str] | None = None) -> list[dict]:
    """For each (non-special) query token: the key it attends to most in the averaged matrix (taught in 4.4a).

    Args:
        attentions: One example's attention weights [layers, heads, seq, seq] (or the model's tuple).
        tokens: The sentence's tokens, one per position.
        layers: A layer index, a list of them, or None for all (averaged).
        heads: A head index, a list of them, or None for all (averaged).
        exclude_special: Drop [CLS]/[SEP] both as queries and as candidate targets.
        exclude_self: Drop the diagonal (a token attending to itself).
        special_tokens: The special tokens (default: BERT's and RoBERTa's markers).

    Returns:
        A list of dicts ``{position, token, target_position, target, weight}``; ``weight`` is the raw
        attention weight (not re-normalised after excluding).

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> tokens = ["[CLS]", "the", "cat", "sat", "[SEP]"]
        >>> previous = torch.eye(5).roll(-1, dims=1).expand(2, 2, 5, 5)    # each token attends to the one before
        >>> [(row["token"], row["target"], row["weight"]) for row in xh.methods.most_attended(previous, tokens)]
        [('the', '[CLS]', 1.0), ('cat', 'the', 1.0), ('sat', 'cat', 1.0)]
    """
    tokens = list(tokens)
    m = select_attention(attentions, layers, heads, tokens=tokens).mean(dim=(0, 1)).numpy()
    special = special_token_mask(tokens, special_tokens)
    rows = []
    for i, token in enumerate(tokens):
        if special[i]:
            continue
        w = m[i].copy()
        if exclude_special:
            w[special] = -np.inf
        if exclude_self:
            w[i] = -np.inf
        j = int(np.argmax(w))
        rows.append(dict(position=i, token=token, target_position=j, target=tokens[j], weight=float(m[i, j])))
    return rows


@checked
def most_attended_table(attentions: Attentions, tokens: Sequence[str], *, layers: Indices = None,
                        heads: Indices = None, special_tokens: Sequence[str] | None = None) -> pd.DataFrame:
    """Side-by-side table of the most-attended token: with all keys, without self, and without self and special
    tokens (taught in 4.4a).

    Args:
        attentions: One example's attention weights [layers, heads, seq, seq] (or the model's tuple).
        tokens: The sentence's tokens, one per position.
        layers: A layer index, a list of them, or None for all (averaged).
        heads: A head index, a list of them, or None for all (averaged).
        special_tokens: The special tokens (default: BERT's and RoBERTa's markers).

    Returns:
        A DataFrame, one row per word; cells read ``token@position (weight)``.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> tokens = ["[CLS]", "the", "cat", "sat", "[SEP]"]
        >>> previous = torch.eye(5).roll(-1, dims=1).expand(2, 2, 5, 5)    # each token attends to the one before
        >>> xh.methods.most_attended_table(previous, tokens).loc["cat@2", "all keys"]
        'the@1 (1.00)'
    """
    settings = {"all keys": dict(), "without self": dict(exclude_self=True),
                "without self, [CLS], [SEP]": dict(exclude_self=True, exclude_special=True)}
    columns = {}
    for title, flags in settings.items():
        rows = most_attended(attentions, tokens, layers=layers, heads=heads, special_tokens=special_tokens,
                             **flags)
        columns[title] = [f"{r['target']}@{r['target_position']} ({r['weight']:.2f})" for r in rows]
    index = [f"{r['token']}@{r['position']}" for r in rows]
    return pd.DataFrame(columns, index=pd.Index(index, name="query token@position"))


@checked
def most_attended_by_layer(attentions: Attentions, tokens: Sequence[str], *, exclude_self: bool = True,
                           exclude_special: bool = True, special_tokens: Sequence[str] | None = None) -> pd.DataFrame:
    """Most-attended key of every word, layer by layer (heads averaged); taught in 4.4a.

    Args:
        attentions: One example's attention weights [layers, heads, seq, seq] (or the model's tuple).
        tokens: The sentence's tokens, one per position.
        exclude_self: Drop the diagonal (a token attending to itself).
        exclude_special: Drop [CLS]/[SEP] as candidate targets.
        special_tokens: The special tokens (default: BERT's and RoBERTa's markers).

    Returns:
        A DataFrame, one row per (non-special) query token, one column per layer; cells read ``target (weight)``.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> tokens = ["[CLS]", "the", "cat", "sat", "[SEP]"]
        >>> previous = torch.eye(5).roll(-1, dims=1).expand(2, 2, 5, 5)    # each token attends to the one before
        >>> xh.methods.most_attended_by_layer(previous, tokens, exclude_special=False).loc["the@1"].tolist()
        ['[CLS] (1.00)', '[CLS] (1.00)']
    """
    a = select_attention(attentions, tokens=list(tokens))
    columns, index = {}, None
    for layer in range(a.shape[0]):
        rows = most_attended(a, tokens, layers=layer, exclude_self=exclude_self, exclude_special=exclude_special,
                             special_tokens=special_tokens)
        columns[f"layer {layer}"] = [f"{r['target']} ({r['weight']:.2f})" for r in rows]
        index = [f"{r['token']}@{r['position']}" for r in rows]
    return pd.DataFrame(columns, index=pd.Index(index, name="query token@position"))


@checked
def token_attention_by_layer(attentions: Attentions, tokens: Sequence[str], token: str | int, *,
                             special_tokens: Sequence[str] | None = None) -> pd.DataFrame:
    """Where one query token's attention goes in each layer (heads averaged); taught in 4.4a.

    Args:
        attentions: One example's attention weights [layers, heads, seq, seq] (or the model's tuple).
        tokens: The sentence's tokens, one per position.
        token: The query: a token string (its first occurrence) or a position.
        special_tokens: The special tokens (default: BERT's and RoBERTa's markers).

    Returns:
        A DataFrame, one row per layer: the word it attends to most (itself and special tokens excluded),
        that weight, and the total weight it puts on the special tokens.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> tokens = ["[CLS]", "the", "cat", "sat", "[SEP]"]
        >>> previous = torch.eye(5).roll(-1, dims=1).expand(2, 2, 5, 5)    # each token attends to the one before
        >>> xh.methods.token_attention_by_layer(previous, tokens, "sat")["most-attended word"].tolist()
        ['cat', 'cat']
    """
    tokens = list(tokens)
    a = select_attention(attentions, tokens=tokens)
    i = token_position(tokens, token)
    special = special_token_mask(tokens, special_tokens)
    rows = []
    for layer in range(a.shape[0]):
        w = a[layer].mean(0)[i].numpy()
        candidates = np.where(special | (np.arange(len(tokens)) == i), -np.inf, w)
        j = int(np.argmax(candidates))
        rows.append({"most-attended word": tokens[j], "weight": float(w[j]),
                     "weight on special tokens": float(w[special].sum())})
    return pd.DataFrame(rows, index=pd.Index(range(a.shape[0]), name="layer"))


@checked
def head_profile(attentions: Attentions, tokens: Sequence[str], layer: int,
                 special_tokens: Sequence[str] | None = None) -> pd.DataFrame:
    """What each head of one layer does with the word rows (Clark et al. 2019 classify BERT's heads so); 4.4a.

    Args:
        attentions: One example's attention weights [layers, heads, seq, seq] (or the model's tuple).
        tokens: The sentence's tokens, one per position (at least two words besides the special tokens).
        layer: The layer (negative counts from the end).
        special_tokens: The special tokens (default: BERT's and RoBERTa's markers).

    Returns:
        A DataFrame, one row per head: a word's mean attention to [CLS], to [SEP], to itself, to the previous
        word and to the next word (special neighbours do not count as words), and ``dominant``, the largest.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> tokens = ["[CLS]", "the", "cat", "sat", "[SEP]"]
        >>> previous = torch.eye(5).roll(-1, dims=1).expand(2, 2, 5, 5)    # each token attends to the one before
        >>> xh.methods.head_profile(previous, tokens, layer=0)["dominant"].tolist()
        ['previous', 'previous']
    """
    tokens = list(tokens)
    a = select_attention(attentions, tokens=tokens)
    layer = check_index(layer, a.shape[0], "layer")
    special = special_token_mask(tokens, special_tokens)
    words = np.flatnonzero(~special)
    if len(words) < 2:
        raise ValueError(f"head_profile needs at least two words besides the special tokens; got tokens={tokens}.")
    cls = [i for i, t in enumerate(tokens) if t in ("[CLS]", "<s>")]
    sep = [i for i, t in enumerate(tokens) if t in ("[SEP]", "</s>")]
    prev = [i for i in words if i - 1 in words]
    nxt = [i for i in words if i + 1 in words]
    table = {}
    for head in range(a.shape[1]):
        m = a[layer, head]
        table[f"head {head}"] = {
            "[CLS]": m[words][:, cls].sum(-1).mean().item() if cls else 0.0,
            "[SEP]": m[words][:, sep].sum(-1).mean().item() if sep else 0.0,
            "self": m[words, words].mean().item(),
            "previous": m[prev, [i - 1 for i in prev]].mean().item(),
            "next": m[nxt, [i + 1 for i in nxt]].mean().item()}
    table = pd.DataFrame(table).T
    table["dominant"] = table.idxmax(axis=1)
    return table


@checked
def special_token_share(attentions: Attentions, tokens: Sequence[str], special_tokens: Sequence[str] | None = None,
                        per_head: bool = False) -> np.ndarray:
    """Share of attention that lands on special tokens ([CLS], [SEP]) -- Clark et al. (2019), fig. 2; taught in 4.4a.

    A uniform head would give ``n_special / seq``: that chance level is the share of special tokens.

    Args:
        attentions: One example's attention weights [layers, heads, seq, seq] (or the model's tuple).
        tokens: The sentence's tokens, one per position.
        special_tokens: The special tokens (default: BERT's and RoBERTa's markers).
        per_head: Keep the heads apart (default: average them).

    Returns:
        The share averaged over all query positions: an array [layers] or, with ``per_head``, [layers, heads].

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> tokens = ["[CLS]", "the", "cat", "sat", "[SEP]"]
        >>> previous = torch.eye(5).roll(-1, dims=1).expand(2, 2, 5, 5)    # each token attends to the one before
        >>> xh.methods.special_token_share(previous, tokens).round(2)
        array([0.4, 0.4], dtype=float32)
    """
    a = select_attention(attentions, tokens=list(tokens))
    special = torch.as_tensor(special_token_mask(list(tokens), special_tokens))
    share = a[..., special].sum(-1).mean(-1)  # [L, H]
    return (share if per_head else share.mean(-1)).numpy()
