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
           "head_profile", "head_statistics", "special_token_share"]

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
    shares = _head_shares(a[layer:layer + 1], tokens, special_tokens, "head_profile")[0]
    table = pd.DataFrame(shares, index=[f"head {h}" for h in range(a.shape[1])], columns=list(HABITS))
    table["dominant"] = table.idxmax(axis=1)
    return table


#: The habits ``head_profile`` and ``head_statistics`` measure, in their column order.
HABITS = ("[CLS]", "[SEP]", "self", "previous", "next")


def _head_shares(a, tokens, special_tokens, caller):
    """A word's mean attention on each of ``HABITS`` for every layer and head of ``a`` -> array [L, H, 5]."""
    special = special_token_mask(tokens, special_tokens)
    words = np.flatnonzero(~special)
    if len(words) < 2:
        raise ValueError(f"{caller} needs at least two words besides the special tokens; got tokens={tokens}.")
    cls = [i for i, t in enumerate(tokens) if t in ("[CLS]", "<s>")]
    sep = [i for i, t in enumerate(tokens) if t in ("[SEP]", "</s>")]
    prev = [i for i in words if i - 1 in words]
    nxt = [i for i in words if i + 1 in words]
    rows = a[:, :, words]                                          # [L, H, words, seq]
    zero = torch.zeros(a.shape[:2], dtype=a.dtype)
    mean_or_zero = lambda w: w.mean(-1) if w.shape[-1] else zero   # noqa: E731
    return torch.stack([
        rows[..., cls].sum(-1).mean(-1) if cls else zero,
        rows[..., sep].sum(-1).mean(-1) if sep else zero,
        a[:, :, words, words].mean(-1),
        mean_or_zero(a[:, :, prev, [i - 1 for i in prev]]),
        mean_or_zero(a[:, :, nxt, [i + 1 for i in nxt]])], dim=-1).cpu().double().numpy()


@checked
def head_statistics(examples: Sequence[tuple[Sequence[str], Attentions]],
                    special_tokens: Sequence[str] | None = None) -> pd.DataFrame:
    """``head_profile`` for every layer and head of many sentences: one row per sentence, layer and head (4.4a).

    One sentence shows what a head did there; a habit of the model is a statistic over many sentences
    (Clark et al. 2019 used about 1000 segments). Feed this the list ``attention_maps_batch`` returns and
    summarise the rows per head, with an interval over the sentences.

    Args:
        examples: ``(tokens, attentions)`` pairs, one per sentence, as ``attention_maps`` returns them.
        special_tokens: The special tokens (default: BERT's and RoBERTa's markers).

    Returns:
        A long DataFrame with the columns ``sentence`` (its index in ``examples``), ``layer``, ``head``,
        ``tokens`` (the sentence's length with the special tokens; an even spread over the other tokens
        is ``1 / (tokens - 1)``) and a word's mean attention on ``[CLS]``, ``[SEP]``, ``self``, ``previous``
        and ``next``.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> tokens = ["[CLS]", "the", "cat", "sat", "[SEP]"]
        >>> previous = torch.eye(5).roll(-1, dims=1).expand(2, 2, 5, 5)    # each token attends to the one before
        >>> table = xh.methods.head_statistics([(tokens, previous), (tokens, previous)])
        >>> len(table), table["previous"].tolist()[:4], float(table["self"].max())
        (8, [1.0, 1.0, 1.0, 1.0], 0.0)
    """
    if len(examples) == 0:
        raise ValueError("examples is empty: pass the (tokens, attentions) pairs of at least one sentence.")
    frames = []
    for index, (tokens, attentions) in enumerate(examples):
        tokens = list(tokens)
        a = select_attention(attentions, tokens=tokens)
        shares = _head_shares(a, tokens, special_tokens, f"head_statistics (sentence {index})")
        n_layers, n_heads = shares.shape[:2]
        frame = pd.DataFrame(shares.reshape(-1, len(HABITS)), columns=list(HABITS))
        frame.insert(0, "tokens", len(tokens))
        frame.insert(0, "head", np.tile(np.arange(n_heads), n_layers))
        frame.insert(0, "layer", np.repeat(np.arange(n_layers), n_heads))
        frame.insert(0, "sentence", index)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


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
