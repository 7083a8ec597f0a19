"""Reading and aggregating Transformer attention weights (text and vision); the figures are in ``viz.attention``.

Every function takes attention as a tensor ``[layers, heads, seq, seq]`` -- row ``i`` of a head's
matrix is how query position ``i`` distributes its attention over the key positions, and sums to 1
-- or as the per-layer tuple a Hugging Face model returns for one input (``[1, heads, seq, seq]``).
The tables that read one sentence's attention word by word are in ``attention_tables``.
"""
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from .._typecheck import checked
from .._validate import as_float_array, check_count
from ..attention_arrays import Attentions, Indices, select_attention, stack_attentions
from ..models.text import check_text, warn_if_truncated
from .attention_tables import (head_profile, head_statistics, most_attended, most_attended_by_layer,
                               most_attended_table, special_token_share, token_attention_by_layer)
from .kinds import LoadedTextModel

__all__ = ["attention_maps", "attention_maps_batch", "stack_attentions", "average_attention", "most_attended",
           "most_attended_table", "most_attended_by_layer", "token_attention_by_layer", "head_profile",
           "head_statistics", "special_token_share", "attention_rollout", "rank_agreement"]


@checked
def attention_maps(text_model: LoadedTextModel, text: str, max_length: int = 512) -> tuple[list[str], torch.Tensor]:
    """Run ``text`` through the encoder -> ``(tokens, attentions)``; taught in 4.4a.

    Args:
        text_model: The ``TextModel`` from ``load_text_model``.
        text: One non-empty sentence.
        max_length: Longest input in tokens; longer texts are cut, with a warning.

    Returns:
        ``(tokens, attentions)``: the tokens including [CLS] and [SEP], and the attention weights
        [layers, heads, seq, seq] as a float CPU tensor.

    Example:
        >>> import xai_helpers as xh
        >>> tokens, attentions = xh.attention_maps(xh.load_text_model(), "The cat sat.")
        >>> tokens, tuple(attentions.shape)
        (['[CLS]', 'the', 'cat', 'sat', '.', '[SEP]'], (6, 12, 6, 6))
    """
    enc = text_model.encode(text, max_length=max_length)
    with torch.no_grad():
        out = text_model.model(**enc, output_attentions=True)
    tokens = text_model.tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist())
    return tokens, stack_attentions(out.attentions)


@checked
def attention_maps_batch(text_model: LoadedTextModel, texts: Sequence[str], batch_size: int = 32,
                         max_length: int = 512) -> list[tuple[list[str], torch.Tensor]]:
    """``attention_maps`` for many sentences, run in padded batches -> one ``(tokens, attentions)`` per text (4.4a).

    Sentences of similar length are batched together; padding is masked, so a padded position receives no
    attention, and each sentence's weights are cut back to its own tokens -- the same numbers (up to
    float rounding) as ``attention_maps`` gives one sentence at a time, many times faster.

    Args:
        text_model: The ``TextModel`` from ``load_text_model``.
        texts: Non-empty sentences.
        batch_size: Sentences per forward pass (a positive integer).
        max_length: Longest input in tokens; longer texts are cut, with a warning.

    Returns:
        A list in the order of ``texts``: ``(tokens, attentions)`` with the tokens including [CLS] and
        [SEP] and the weights [layers, heads, seq, seq] as a float CPU tensor.

    Example:
        >>> import xai_helpers as xh
        >>> maps = xh.methods.attention_maps_batch(xh.load_text_model(), ["The cat sat.", "A dog barked loudly."])
        >>> [(tokens[1], tuple(attentions.shape)) for tokens, attentions in maps]
        [('the', (6, 12, 6, 6)), ('a', (6, 12, 7, 7))]
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a list of sentences; for one sentence use attention_maps(text_model, text).")
    texts = [check_text(t) for t in texts]
    if not texts:
        raise ValueError("texts is empty: pass at least one sentence.")
    batch_size = check_count(batch_size, "batch_size")
    max_length = min(check_count(max_length, "max_length", minimum=3), text_model.model.config.max_position_embeddings)
    warn_if_truncated(text_model.tokenizer, texts, max_length)
    lengths = [len(text_model.tokenizer(t, truncation=True, max_length=max_length)["input_ids"]) for t in texts]
    order = sorted(range(len(texts)), key=lengths.__getitem__)
    out = [None] * len(texts)
    for start in range(0, len(order), batch_size):
        chosen = order[start:start + batch_size]
        enc = text_model.tokenizer([texts[i] for i in chosen], return_tensors="pt", padding=True, truncation=True,
                                   max_length=max_length)
        enc = {k: v.to(text_model.device) for k, v in enc.items()}
        with torch.no_grad():
            att = torch.stack(text_model.model(**enc, output_attentions=True).attentions, dim=1).float().cpu()
        for row, i in enumerate(chosen):
            n = lengths[i]
            ids = enc["input_ids"][row, :n].tolist()
            out[i] = (text_model.tokenizer.convert_ids_to_tokens(ids), att[row, :, :, :n, :n].contiguous())
    return out


@checked
def average_attention(attentions: Attentions, layers: Indices = None, heads: Indices = None) -> torch.Tensor:
    """Mean attention over the chosen layers and heads (default: all); taught in 4.4a.

    Args:
        attentions: One example's attention weights [layers, heads, seq, seq] (or the model's tuple).
        layers: A layer index, a list of them, or None for all (negative indices count from the end).
        heads: A head index, a list of them, or None for all.

    Returns:
        The averaged matrix [seq, seq]; its rows still sum to 1.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> heads = torch.stack([torch.eye(3), torch.full((3, 3), 1 / 3)])   # head 0: self, head 1: uniform
        >>> attentions = heads.expand(2, 2, 3, 3)                              # two layers alike
        >>> xh.methods.average_attention(attentions, heads=[0, 1], layers=-1)
        tensor([[0.6667, 0.1667, 0.1667],
                [0.1667, 0.6667, 0.1667],
                [0.1667, 0.1667, 0.6667]])
    """
    return select_attention(attentions, layers, heads).mean(dim=(0, 1))


@checked
def attention_rollout(attentions: Attentions, head_fusion: str = "mean", discard_ratio: float = 0.0,
                      residual_weight: float = 0.5) -> torch.Tensor:
    """Attention rollout (Abnar & Zuidema 2020, eq. 1): how much each input token flows into each position (4.4b).

    Per layer the heads are fused, optionally the lowest ``discard_ratio`` of the weights are zeroed
    (diagonal kept; the vit-explain variant, not in the paper), the residual connection is added,
    ``A = (1 - w) * W_att + w * I``, rows are re-normalised, and the layers are multiplied:
    ``R = A_L ... A_2 A_1``.

    Args:
        attentions: Attention weights [layers, heads, seq, seq], a batch [batch, layers, heads, seq, seq],
            or the model's per-layer tuple.
        head_fusion: How the heads of a layer are fused: ``"mean"``, ``"max"`` or ``"min"``.
        discard_ratio: The share of lowest weights set to zero per layer, in [0, 1).
        residual_weight: ``w``, the weight of the residual connection, in [0, 1] (the paper: 0.5).

    Returns:
        [seq, seq] (or [batch, seq, seq] for batched input); row ``i`` sums to 1 and says which input
        tokens position ``i`` draws on at the top layer (row 0 = the [CLS] token).

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> uniform = torch.full((3, 2, 4, 4), 0.25)
        >>> rollout = xh.attention_rollout(uniform)
        >>> tuple(rollout.shape), [round(float(v), 3) for v in rollout.sum(-1)]
        ((4, 4), [1.0, 1.0, 1.0, 1.0])
    """
    a = stack_attentions(attentions)
    batched = a.dim() == 5
    a = a if batched else a[None]  # [B, L, H, S, S]
    fusions = {"mean": lambda x: x.mean(dim=2), "max": lambda x: x.amax(dim=2), "min": lambda x: x.amin(dim=2)}
    if head_fusion not in fusions:
        raise ValueError(f"head_fusion must be one of {', '.join(map(repr, fusions))}; got {head_fusion!r}.")
    if not 0.0 <= discard_ratio < 1.0:
        raise ValueError(f"discard_ratio must be in [0, 1); got {discard_ratio}.")
    if not 0.0 <= residual_weight <= 1.0:
        raise ValueError(f"residual_weight must be in [0, 1]; got {residual_weight}.")
    return _rollout(fusions[head_fusion](a), discard_ratio, residual_weight, batched)


def _rollout(fused, discard_ratio, residual_weight, batched):
    """Rollout of head-fused attention [B, L, S, S] -> [B, S, S] (or [S, S] unless ``batched``)."""
    n = fused.shape[-1]
    eye = torch.eye(n, dtype=fused.dtype, device=fused.device)
    if discard_ratio > 0:
        flat = fused.flatten(start_dim=2).clone()
        k = min(int(flat.shape[-1] * discard_ratio), n * n - n)   # never the diagonal
        if k:
            low = flat.masked_fill(eye.flatten().bool(), float("inf")).topk(k, dim=-1, largest=False).indices
            flat.scatter_(-1, low, 0.0)
        fused = flat.view_as(fused)
    rollout = eye.expand(fused.shape[0], n, n)
    for layer in range(fused.shape[1]):
        w = fused[:, layer]
        w = w / w.sum(-1, keepdim=True).clamp_min(1e-12)
        a_hat = (1 - residual_weight) * w + residual_weight * eye
        a_hat = a_hat / a_hat.sum(-1, keepdim=True)
        rollout = a_hat @ rollout
    return rollout if batched else rollout[0]


def _ranks(v):
    from scipy.stats import rankdata
    r = rankdata(v)
    return (r - r.mean()) / max(float(np.sqrt(((r - r.mean()) ** 2).sum())), 1e-12)


def _score_arrays(values, name):
    """A list of per-token score arrays -> float64 1-D arrays, each finite; else an error naming ``name``."""
    arrays = [as_float_array(v, f"{name}[{i}]").astype(np.float64).ravel() for i, v in enumerate(values)]
    for i, v in enumerate(arrays):
        if not np.isfinite(v).all():
            raise ValueError(f"{name}[{i}] contains NaN or infinite scores; pass finite per-token scores.")
    return arrays


@checked
def rank_agreement(readings: Mapping[str, Sequence], reference: Sequence, n_permutations: int = 2000,
                   seed: int = 0) -> pd.DataFrame:
    """How well per-token scores rank the tokens like a reference, over several sentences (taught in 4.4a).

    For each reading: the Spearman rank correlation with the reference in every sentence, averaged over the
    sentences, and the chance band -- the 2.5 % and 97.5 % quantiles of that average when each sentence's
    scores are shuffled at random. A rank correlation over one short sentence means little; the average
    over many tokens is what the band judges.

    Args:
        readings: A name -> a list of 1-D arrays (one per sentence, one value per token), e.g. attention
            to each token.
        reference: The list of reference arrays, one per sentence (e.g. |integrated gradients| per token).
        n_permutations: Shuffles that make the chance band (a positive integer).
        seed: Seed of the shuffles.

    Returns:
        A DataFrame, one row per reading: mean Spearman rho, the chance band (low, high), the number of
        sentences with rho > 0, of sentences and of tokens.

    Example:
        >>> import xai_helpers as xh
        >>> reference = [[0.1, 0.5, 0.9], [3.0, 1.0, 2.0, 0.0]]
        >>> table = xh.methods.rank_agreement({"same": reference}, reference, n_permutations=50)
        >>> round(float(table.loc["same", "mean Spearman rho"]), 3), int(table.loc["same", "tokens"])
        (1.0, 7)
    """
    ref = _score_arrays(reference, "reference")
    if len(ref) == 0:
        raise ValueError("reference is empty: pass one array of per-token scores per sentence.")
    n_permutations = check_count(n_permutations, "n_permutations")
    ref_ranks = [_ranks(r) for r in ref]
    rng = np.random.default_rng(int(seed) % 2 ** 32)
    rows = {}
    for name, values in readings.items():
        values = _score_arrays(values, f"readings[{name!r}]")
        if len(values) != len(ref) or any(v.shape != r.shape for v, r in zip(values, ref)):
            raise ValueError(f"readings[{name!r}] must have one array per sentence with one value per token, "
                             f"like the reference ({[len(r) for r in ref]} tokens); got {[len(v) for v in values]}.")
        rows[name] = _agreement(values, ref, ref_ranks, n_permutations, rng)
    return pd.DataFrame(rows).T.astype({"sentences with rho > 0": int, "sentences": int, "tokens": int})


def _agreement(values, ref, ref_ranks, n_permutations, rng):
    """One reading's row of ``rank_agreement``."""
    ranks = [_ranks(v) for v in values]
    rho = np.array([float(a @ b) for a, b in zip(ranks, ref_ranks)])
    null = np.zeros(n_permutations)
    for a, b in zip(ranks, ref_ranks):
        shuffled = np.stack([rng.permutation(a) for _ in range(n_permutations)])
        null += shuffled @ b
    null /= len(ranks)
    lo, hi = np.quantile(null, [0.025, 0.975])
    return {"mean Spearman rho": rho.mean(), "chance low": lo, "chance high": hi,
            "sentences with rho > 0": int((rho > 0).sum()), "sentences": len(rho),
            "tokens": int(sum(len(r) for r in ref))}
