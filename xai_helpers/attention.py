"""Reading, plotting and aggregating Transformer attention weights (text and vision).

Every function takes attention as a tensor ``[layers, heads, seq, seq]`` -- row ``i`` of a head's
matrix is how query position ``i`` distributes its attention over the key positions, and sums to 1
-- or as the per-layer tuple a Hugging Face model returns for one input (``[1, heads, seq, seq]``).
"""
import functools
import math

import numpy as np
import torch

__all__ = ["attention_maps", "stack_attentions", "average_attention", "most_attended",
           "most_attended_table", "most_attended_by_layer", "token_attention_by_layer", "head_profile",
           "special_token_share", "attention_rollout", "rank_agreement", "plot_attention", "plot_attention_row",
           "plot_attention_head", "plot_layer_heads", "plot_special_token_share", "compare_token_scores",
           "attention_explorer"]

ATTENTION_CMAP = "viridis"


# --- getting the weights -------------------------------------------------------------------------
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


def attention_maps(text_model, text, max_length=512):
    """Run ``text`` through the encoder -> ``(tokens, attentions)``, attentions [layers, heads, seq, seq].

    ``text_model`` is the ``TextModel`` from ``load_text_model``. Tokens include [CLS] and [SEP].
    """
    from .text import TextModel
    if not isinstance(text_model, TextModel):
        raise TypeError(f"attention_maps needs the TextModel from load_text_model(), got "
                        f"{type(text_model).__name__}.")
    enc = text_model.encode(text, max_length=max_length)
    with torch.no_grad():
        out = text_model.model(**enc, output_attentions=True)
    tokens = text_model.tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist())
    return tokens, stack_attentions(out.attentions)


def _select(attentions, layers=None, heads=None):
    a = stack_attentions(attentions)
    if a.dim() != 4:
        raise ValueError(f"Expected one example's attention [layers, heads, seq, seq]; got {tuple(a.shape)}.")
    if layers is not None:
        a = a[[layers] if isinstance(layers, int) else list(layers)]
    if heads is not None:
        a = a[:, [heads] if isinstance(heads, int) else list(heads)]
    return a


def average_attention(attentions, layers=None, heads=None):
    """Mean attention over the chosen layers and heads (default: all) -> [seq, seq]; rows still sum to 1."""
    return _select(attentions, layers, heads).mean(dim=(0, 1))


# --- analyses ----------------------------------------------------------------------------------
def _special_mask(tokens, special_tokens):
    special = set(special_tokens if special_tokens is not None else ("[CLS]", "[SEP]", "[PAD]", "<s>", "</s>"))
    return np.array([t in special for t in tokens])


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
    special = _special_mask(tokens, special_tokens)
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
    import pandas as pd
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
    import pandas as pd
    a = _select(attentions)
    columns, index = {}, None
    for layer in range(a.shape[0]):
        rows = most_attended(a, tokens, layers=layer, exclude_self=exclude_self, exclude_special=exclude_special,
                             special_tokens=special_tokens)
        columns[f"layer {layer}"] = [f"{r['target']} ({r['weight']:.2f})" for r in rows]
        index = [f"{r['token']}@{r['position']}" for r in rows]
    return pd.DataFrame(columns, index=pd.Index(index, name="query token@position"))


def _position(tokens, token):
    """A query given as a position (int) or a token string (its first occurrence) -> position."""
    if isinstance(token, (int, np.integer)):
        return _check_index(token, len(tokens), "position")
    if token not in tokens:
        raise ValueError(f"Token {token!r} is not in the sentence; its tokens are {tokens}. Pass one of them "
                         "or a position (int).")
    return tokens.index(token)


def token_attention_by_layer(attentions, tokens, token, *, special_tokens=None):
    """Where one query token's attention goes in each layer (heads averaged) -> pandas DataFrame.

    Columns: the word it attends to most (itself and special tokens excluded), that weight, and the
    total weight it puts on the special tokens. ``token``: a token string (first occurrence) or a position.
    """
    import pandas as pd
    tokens = list(tokens)
    a = _select(attentions)
    i = _position(tokens, token)
    special = _special_mask(tokens, special_tokens)
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
    import pandas as pd
    tokens = list(tokens)
    a = _select(attentions)
    layer = _check_index(layer, a.shape[0], "layer")
    special = _special_mask(tokens, special_tokens)
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
    a = _select(attentions)
    special = torch.as_tensor(_special_mask(list(tokens), special_tokens))
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
    import pandas as pd
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


# --- figures ------------------------------------------------------------------------------------
def _token_labels(tokens, numbered=False):
    return [f"{t} {i}" if numbered else str(t) for i, t in enumerate(tokens)]


def _tick_step(n, max_labels=60):
    return max(1, math.ceil(n / max_labels))


MIN_FONTSIZE = 8   # the course's smallest readable text, in points


def _fontsize(n):
    return float(np.clip(220 / max(n, 1), MIN_FONTSIZE, 10))


def plot_attention(matrix, tokens, ax=None, title=None, vmax=None, annotate=None, numbered=None,
                   colorbar=True, cmap=ATTENTION_CMAP, show_xlabels=True, show_ylabels=True):
    """Draw one [seq, seq] attention matrix with token labels (rows = queries, columns = keys).

    Long inputs stay readable: the figure grows with the sentence, fonts shrink, and past 60 tokens
    only every k-th label is written. ``annotate`` (default: up to 12 tokens) prints the weights;
    ``numbered`` (default: when a token repeats) adds positions to the labels. Labels are never
    smaller than 8 pt: a long sentence gets a larger figure (about 0.16 inch per written label).
    """
    import matplotlib.pyplot as plt
    m = matrix.detach().float().cpu().numpy() if isinstance(matrix, torch.Tensor) \
        else np.asarray(matrix, dtype=np.float32)
    tokens = list(tokens)
    n = len(tokens)
    if m.shape != (n, n):
        raise ValueError(f"matrix has shape {m.shape} but there are {n} tokens.")
    if ax is None:
        side = float(np.clip(max(0.3 * n + 2.5, 0.16 * math.ceil(n / _tick_step(n)) + 2.0), 4, 14))
        _, ax = plt.subplots(figsize=(side + 1, side))
    numbered = len(set(tokens)) < n if numbered is None else numbered
    labels = _token_labels(tokens, numbered)
    im = ax.imshow(m, cmap=cmap, vmin=0.0, vmax=vmax if vmax is not None else max(float(m.max()), 1e-6))
    step, fs = _tick_step(n), _fontsize(n)
    ticks = np.arange(0, n, step)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xticklabels([labels[i] for i in ticks] if show_xlabels else [], rotation=90, fontsize=fs)
    ax.set_yticklabels([labels[i] for i in ticks] if show_ylabels else [], fontsize=fs)
    if show_xlabels:
        ax.set_xlabel("key (attended to)", fontsize=fs + 1)
    if show_ylabels:
        ax.set_ylabel("query (attending)", fontsize=fs + 1)
    if annotate if annotate is not None else n <= 12:
        hi = im.norm.vmax
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{m[i, j]:.2f}"[1:] if m[i, j] < 1 else "1", ha="center", va="center",
                        fontsize=max(fs - 2, MIN_FONTSIZE), color="black" if m[i, j] > 0.6 * hi else "white")
    if title:
        ax.set_title(title, fontsize=10)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="attention weight")
    return im


def plot_attention_row(attentions, tokens, query, layer=0, head=None, ax=None, color="C0"):
    """One query token's attention over all keys, as bars: what a single row of a head's matrix is.

    ``query`` is a token string (its first occurrence) or a position; ``head=None`` averages the
    heads of ``layer``. The bars are the softmax weights of that row (they sum to 1); the query's own
    bar is outlined. Returns the matplotlib axis.
    """
    import matplotlib.pyplot as plt
    a = _select(attentions)
    tokens = list(tokens)
    if a.shape[-1] != len(tokens):
        raise ValueError(f"{len(tokens)} tokens but attention over {a.shape[-1]} positions.")
    layer = _check_index(layer, a.shape[0], "layer")
    i = _position(tokens, query)
    if head is None:
        w, which = a[layer, :, i].mean(0).numpy(), f"mean of {a.shape[1]} heads"
    else:
        head = _check_index(head, a.shape[1], "head")
        w, which = a[layer, head, i].numpy(), f"head {head}"
    ax = ax or plt.subplots(figsize=(max(4.5, 0.55 * len(tokens) + 1.5), 3))[1]
    bars = ax.bar(np.arange(len(tokens)), w, color=color)
    bars[i].set_edgecolor("black")
    bars[i].set_linewidth(1.5)
    for j, value in enumerate(w):
        if value >= 0.01:
            ax.text(j, value, f"{value:.2f}", ha="center", va="bottom", fontsize=MIN_FONTSIZE)
    labels = _token_labels(tokens, len(set(tokens)) < len(tokens))
    ax.set_xticks(np.arange(len(tokens)))
    ax.set_xticklabels(labels, rotation=45 if len(tokens) > 8 else 0,
                       ha="right" if len(tokens) > 8 else "center", fontsize=max(_fontsize(len(tokens)), 9))
    ax.set_ylim(0, max(float(w.max()) * 1.18, 0.05))
    ax.set_xlabel("key (the token attended to)")
    ax.set_ylabel("attention weight")
    ax.set_title(f"Query {labels[i]!r}, layer {layer}, {which}: weights sum to {w.sum():.2f}", fontsize=10)
    return ax


def plot_attention_head(attentions, tokens, layer=0, head=0, ax=None, **kwargs):
    """Heat map of one head of one layer (0-based indices; negative counts from the end)."""
    a = _select(attentions)
    layer, head = _check_index(layer, a.shape[0], "layer"), _check_index(head, a.shape[1], "head")
    kwargs.setdefault("title", f"layer {layer}, head {head}")
    return plot_attention(a[layer, head], tokens, ax=ax, **kwargs)


def _check_index(i, n, what):
    if not isinstance(i, (int, np.integer)) or not -n <= i < n:
        raise ValueError(f"{what}={i!r} is out of range: there are {n} {what}s (0 ... {n - 1}).")
    return int(i) % n


def plot_layer_heads(attentions, tokens, layer=0, ncols=None, panel_size=2.6, shared_scale=True):
    """All heads of one layer as a grid of small heat maps with one colour scale; returns the figure.

    Labels are written on the outer panels only, so long sentences stay legible.
    """
    import matplotlib.pyplot as plt
    a = _select(attentions)
    layer = _check_index(layer, a.shape[0], "layer")
    n_heads, n = a.shape[1], a.shape[-1]
    ncols = ncols or min(n_heads, 6 if n <= 20 else 4)
    nrows = math.ceil(n_heads / ncols)
    size = panel_size * max(1.0, n / 20)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols + 1, size * nrows + 0.8), squeeze=False,
                             layout="constrained")
    vmax = float(a[layer].max()) if shared_scale else None
    im = None
    for h, ax in enumerate(axes.flat):
        if h >= n_heads:
            ax.axis("off")
            continue
        row, col = divmod(h, ncols)
        im = plot_attention(a[layer, h], tokens, ax=ax, title=f"head {h}", vmax=vmax, annotate=False,
                            colorbar=False, show_xlabels=row == nrows - 1 or h + ncols >= n_heads,
                            show_ylabels=col == 0)
        ax.set_xlabel("")
        ax.set_ylabel("")
    fig.suptitle(f"Layer {layer}: all {n_heads} heads (rows = queries, columns = keys)")
    if shared_scale and im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.02, pad=0.01, label="attention weight")
    return fig


def plot_special_token_share(share, chance=None, ax=None, label=None):
    """Line plot of ``special_token_share`` per layer (per-head array: one thin line per head)."""
    import matplotlib.pyplot as plt
    share = np.asarray(share)
    ax = ax or plt.subplots(figsize=(5, 3.2))[1]
    layers = np.arange(share.shape[0])
    if share.ndim == 2:
        lines = ax.plot(layers, share, color="0.7", lw=0.8)
        lines[0].set_label("single heads")
        ax.plot(layers, share.mean(1), color="C0", lw=2.5, marker="o", label=label or "mean over heads")
    else:
        ax.plot(layers, share, marker="o", lw=2, label=label or "mean over heads")
    if chance is not None:
        ax.axhline(chance, color="C3", ls="--", lw=1, label="uniform attention")
    ax.set_xticks(layers)
    ax.set_xlabel("layer")
    ax.set_ylabel("attention to [CLS] + [SEP]")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    return ax


def compare_token_scores(tokens, scores, skip_special=True, special_tokens=None, ax=None):
    """Compare per-token scores from several methods: bar chart + Spearman rank correlations.

    ``scores`` maps a method name to one value per token, e.g. the rollout's [CLS] row, the last
    layer's [CLS] row, or a classifier's token attributions (integrated gradients, chapter 4.5) --
    signed attributions are compared by magnitude. Returns ``(figure, correlations DataFrame)``.
    """
    import matplotlib.pyplot as plt
    import pandas as pd
    from scipy.stats import spearmanr
    tokens = list(tokens)
    keep = ~_special_mask(tokens, special_tokens) if skip_special else np.ones(len(tokens), bool)
    table = {}
    for name, values in scores.items():
        v = np.abs(np.asarray(torch.as_tensor(values).detach().float().cpu(), dtype=np.float64))
        if v.shape != (len(tokens),):
            raise ValueError(f"scores[{name!r}] has shape {v.shape}; expected one value per token ({len(tokens)}).")
        v = v[keep]
        table[name] = v / v.sum() if v.sum() > 0 else v
    names = list(table)
    corr = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            rho = spearmanr(table[a], table[b]).statistic if len(table[a]) > 1 else np.nan
            corr.loc[a, b] = corr.loc[b, a] = rho
    shown = [t for t, k in zip(tokens, keep) if k]
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(5, 0.55 * len(shown) * max(1, len(names) / 2)), 3.2))
    fig = ax.figure
    width = 0.8 / max(len(names), 1)
    x = np.arange(len(shown))
    for k, name in enumerate(names):
        ax.bar(x + (k - (len(names) - 1) / 2) * width, table[name], width, label=name)
    ax.set_xticks(x)
    ax.set_xticklabels(shown, rotation=45 if len(shown) > 8 else 0, ha="right" if len(shown) > 8 else "center")
    ax.set_ylabel("share of the method's total")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, corr


# --- interactive ----------------------------------------------------------------------------------
def attention_explorer(attentions, tokens, layer=0, head=0):
    """Sliders for layer and head over ``plot_attention_head`` (ipywidgets).

    Where widgets cannot run (ipywidgets missing) it draws the chosen head as a static figure instead.
    Where they cannot be displayed (static HTML, nbval) the output reads as a one-line note.
    """
    import matplotlib.pyplot as plt
    a = _select(attentions)
    tokens = list(tokens)
    try:
        import ipywidgets as widgets
        from IPython.display import display
    except ImportError:
        print("ipywidgets is not installed: showing one static head (pip install ipywidgets for sliders).")
        plot_attention_head(a, tokens, layer, head)
        return None

    n_layers, n_heads = a.shape[0], a.shape[1]
    layer_slider = widgets.IntSlider(value=_check_index(layer, n_layers, "layer"), min=0, max=n_layers - 1,
                                     description="layer", continuous_update=False)
    head_choice = widgets.Dropdown(options=[("mean of heads", -1)] + [(f"head {h}", h) for h in range(n_heads)],
                                   value=_check_index(head, n_heads, "head"), description="head")
    out = widgets.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            side = float(np.clip(0.3 * len(tokens) + 2.5, 4, 10))
            fig, ax = plt.subplots(figsize=(side + 1, side))
            if head_choice.value < 0:
                plot_attention(a[layer_slider.value].mean(0), tokens, ax=ax,
                               title=f"layer {layer_slider.value}, mean of {n_heads} heads")
            else:
                plot_attention_head(a, tokens, layer_slider.value, head_choice.value, ax=ax)
            display(fig)
            plt.close(fig)

    layer_slider.observe(redraw, names="value")
    head_choice.observe(redraw, names="value")
    redraw()
    return _Explorer([widgets.HBox([layer_slider, head_choice]), out])


@functools.lru_cache(maxsize=1)
def _explorer_class():
    import ipywidgets as widgets

    class Explorer(widgets.VBox):
        def __repr__(self):
            return ("Attention explorer (layer / head controls): needs a live Jupyter kernel with "
                    "ipywidgets; in static HTML use the figures above.")
    return Explorer


def _Explorer(children):
    return _explorer_class()(children)
