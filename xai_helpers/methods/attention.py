"""Reading and aggregating Transformer attention weights (text and vision); the figures are in ``viz.attention``.

Every function takes attention as a tensor ``[layers, heads, seq, seq]`` -- row ``i`` of a head's
matrix is how query position ``i`` distributes its attention over the key positions, and sums to 1
-- or as the per-layer tuple a Hugging Face model returns for one input (``[1, heads, seq, seq]``).
"""
import numpy as np
import torch
import pandas as pd

from ..attention_arrays import check_index, select_attention, special_token_mask, stack_attentions, token_position
from ..models.text import TextModel

__all__ = ["attention_maps", "stack_attentions", "average_attention", "most_attended",
           "most_attended_table", "most_attended_by_layer", "token_attention_by_layer", "head_profile",
           "special_token_share", "attention_rollout", "rank_agreement"]


def attention_maps(text_model, text, max_length=512):
    """Run ``text`` through the encoder -> ``(tokens, attentions)``, attentions [layers, heads, seq, seq].

    ``text_model`` is the ``TextModel`` from ``load_text_model``. Tokens include [CLS] and [SEP].
    """
    if not isinstance(text_model, TextModel):
        raise TypeError(f"attention_maps needs the TextModel from load_text_model(), got "
                        f"{type(text_model).__name__}.")
    enc = text_model.encode(text, max_length=max_length)
    with torch.no_grad():
        out = text_model.model(**enc, output_attentions=True)
    tokens = text_model.tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist())
    return tokens, stack_attentions(out.attentions)


def average_attention(attentions, layers=None, heads=None):
    """Mean attention over the chosen layers and heads (default: all) -> [seq, seq]; rows still sum to 1."""
    return select_attention(attentions, layers, heads).mean(dim=(0, 1))


def most_attended(attentions, tokens, *, layers=None, heads=None, exclude_special=False, exclude_self=False,
                  special_tokens=None):
    """For each (non-special) query token: the key it attends to most in the averaged matrix.

    Returns a list of dicts ``{position, token, target_position, target, weight}``. ``weight`` is the
    raw attention weight (not re-normalised after excluding). ``exclude_special`` drops [CLS]/[SEP]
    both as queries and as candidate targets; ``exclude_self`` drops the diagonal.
    """
    tokens = list(tokens)
    m = average_attention(attentions, layers, heads).numpy()
    if m.shape[0] != len(tokens):
        raise ValueError(f"{len(tokens)} tokens but attention over {m.shape[0]} positions.")
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


def most_attended_table(attentions, tokens, *, layers=None, heads=None, special_tokens=None):
    """Side-by-side table (pandas DataFrame): most-attended token with all keys, without self, and
    without self and special tokens. Target cells read ``token@position (weight)``."""
    settings = {"all keys": dict(), "without self": dict(exclude_self=True),
                "without self, [CLS], [SEP]": dict(exclude_self=True, exclude_special=True)}
    columns = {}
    for title, flags in settings.items():
        rows = most_attended(attentions, tokens, layers=layers, heads=heads, special_tokens=special_tokens,
                             **flags)
        columns[title] = [f"{r['target']}@{r['target_position']} ({r['weight']:.2f})" for r in rows]
    index = [f"{r['token']}@{r['position']}" for r in rows]
    return pd.DataFrame(columns, index=pd.Index(index, name="query token@position"))


def most_attended_by_layer(attentions, tokens, *, exclude_self=True, exclude_special=True, special_tokens=None):
    """Most-attended key of every word, layer by layer (heads averaged) -> pandas DataFrame.

    One row per (non-special) query token, one column per layer; cells read ``target (weight)``.
    """
    a = select_attention(attentions)
    columns, index = {}, None
    for layer in range(a.shape[0]):
        rows = most_attended(a, tokens, layers=layer, exclude_self=exclude_self, exclude_special=exclude_special,
                             special_tokens=special_tokens)
        columns[f"layer {layer}"] = [f"{r['target']} ({r['weight']:.2f})" for r in rows]
        index = [f"{r['token']}@{r['position']}" for r in rows]
    return pd.DataFrame(columns, index=pd.Index(index, name="query token@position"))


def token_attention_by_layer(attentions, tokens, token, *, special_tokens=None):
    """Where one query token's attention goes in each layer (heads averaged) -> pandas DataFrame.

    Columns: the word it attends to most (itself and special tokens excluded), that weight, and the
    total weight it puts on the special tokens. ``token``: a token string (first occurrence) or a position.
    """
    tokens = list(tokens)
    a = select_attention(attentions)
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


def head_profile(attentions, tokens, layer, special_tokens=None):
    """What each head of one layer does with the word rows -> pandas DataFrame, one row per head.

    Columns: a word's mean attention to [CLS], to [SEP], to itself, to the previous word and to the
    next word (neighbours that are special tokens do not count as words), and ``dominant``, the
    largest of the five. Clark et al. (2019) classify BERT's heads the same way.
    """
    tokens = list(tokens)
    a = select_attention(attentions)
    layer = check_index(layer, a.shape[0], "layer")
    special = special_token_mask(tokens, special_tokens)
    words = np.flatnonzero(~special)
    if len(words) < 2:
        raise ValueError(f"head_profile needs at least two words besides the special tokens; got {tokens}.")
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


def special_token_share(attentions, tokens, special_tokens=None, per_head=False):
    """Share of attention that lands on special tokens ([CLS], [SEP]) -- Clark et al. (2019), fig. 2.

    Averaged over all query positions (and heads unless ``per_head``) -> array [layers] or [layers, heads].
    A uniform head would give ``n_special / seq``; that chance level is ``special.mean()``.
    """
    a = select_attention(attentions)
    special = torch.as_tensor(special_token_mask(list(tokens), special_tokens))
    if a.shape[-1] != len(special):
        raise ValueError(f"{len(special)} tokens but attention over {a.shape[-1]} positions.")
    share = a[..., special].sum(-1).mean(-1)  # [L, H]
    return (share if per_head else share.mean(-1)).numpy()


def attention_rollout(attentions, head_fusion="mean", discard_ratio=0.0, residual_weight=0.5):
    """Attention rollout (Abnar & Zuidema 2020, eq. 1): how much each input token flows into each position.

    Per layer the heads are fused (``"mean"``, ``"max"`` or ``"min"``), optionally the lowest
    ``discard_ratio`` of the weights are zeroed (diagonal kept; the vit-explain variant, not in the
    paper), the residual connection is added, ``A = (1 - w) * W_att + w * I`` with ``w = 0.5``, rows
    are re-normalised, and the layers are multiplied: ``R = A_L ... A_2 A_1``.
    Returns [seq, seq] (or [batch, seq, seq] for batched input); row ``i`` sums to 1 and says which
    input tokens position ``i`` draws on at the top layer (row 0 = the [CLS] token).
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
    fused = fusions[head_fusion](a)  # [B, L, S, S]
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


def rank_agreement(readings, reference, n_permutations=2000, seed=0):
    """How well per-token scores rank the tokens like a reference, over several sentences -> DataFrame.

    ``readings`` maps a name to a list of 1-D arrays (one per sentence, one value per token);
    ``reference`` is the list of reference arrays (e.g. |integrated gradients| per token). For each
    reading: the Spearman rank correlation with the reference in every sentence, averaged over the
    sentences, and the chance band -- the 2.5 % and 97.5 % quantiles of that average when each
    sentence's scores are shuffled at random (``n_permutations`` shuffles, seeded). A rank correlation
    over one short sentence means little; the average over many tokens is what the band judges.
    """
    ref = [np.asarray(r, dtype=np.float64).ravel() for r in reference]
    if len(ref) == 0:
        raise ValueError("reference is empty: pass one array of per-token scores per sentence.")
    ref_ranks = [_ranks(r) for r in ref]
    rng = np.random.default_rng(seed)
    rows = {}
    for name, values in readings.items():
        values = [np.asarray(v, dtype=np.float64).ravel() for v in values]
        if len(values) != len(ref) or any(v.shape != r.shape for v, r in zip(values, ref)):
            raise ValueError(f"readings[{name!r}] must have one array per sentence with one value per token, "
                             f"like the reference ({[len(r) for r in ref]} tokens); got {[len(v) for v in values]}.")
        ranks = [_ranks(v) for v in values]
        rho = np.array([float(a @ b) for a, b in zip(ranks, ref_ranks)])
        null = np.zeros(n_permutations)
        for a, b in zip(ranks, ref_ranks):
            shuffled = np.stack([rng.permutation(a) for _ in range(n_permutations)])
            null += shuffled @ b
        null /= len(ranks)
        lo, hi = np.quantile(null, [0.025, 0.975])
        rows[name] = {"mean Spearman rho": rho.mean(), "chance low": lo, "chance high": hi,
                      "sentences with rho > 0": int((rho > 0).sum()), "sentences": len(rho),
                      "tokens": int(sum(len(r) for r in ref))}
    return pd.DataFrame(rows).T.astype({"sentences with rho > 0": int, "sentences": int, "tokens": int})


