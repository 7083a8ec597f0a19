"""Lesson 4.4a's set-wide comparison of attention readings with leave-one-out, on the whole sentence corpus.

For every sentence of ``xh.data.load_sentence_corpus()`` the sentiment classifier (``xh.load_text_classifier()``)
predicts a class; each word's leave-one-out drop of that class's logit (``xh.methods.token_occlusion``, = Captum
FeatureAblation) is the yardstick. Four readings of the classifier's own encoder are scored by their Spearman rank
correlation with |drop| over the sentence's words (special tokens left out; a constant reading ranks nothing: 0):

* raw attention received: the mean over layers, heads and rows of the encoder's attention;
* rollout (Abnar & Zuidema 2020): the mean of its rows;
* gradient rollout (Chefer et al. 2021) for the predicted class: the mean of its rows;
* value norms (Kobayashi et al. 2020): each row normalised to sum 1, then the mean over layers and rows.

Also the share of [CLS] + [SEP] in the raw-attention and value-norm readings (attention sinks).

Writes data/measured/4_4a_readings_loo.csv (one row per sentence, in the corpus's order; ~90 s on one core). The
lesson reads it and recomputes a few sentences itself; tests/integration/test_measured_4_4a.py recomputes random
sentences with ``sentence_row`` and compares.

    python tools/measure_4_4a.py                  # the whole corpus, written
    python tools/measure_4_4a.py --sentences 0 5  # those corpus indices, printed, not written
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT))   # an explicit PYTHONPATH comes first

import xai_helpers as xh  # noqa: E402

OUT = ROOT / "data" / "measured" / "4_4a_readings_loo.csv"
READINGS = ("raw attention", "rollout", "gradient rollout", "value norms")


def models():
    """The sentiment classifier and its own encoder (the lesson's ``classifier`` and ``encoder``)."""
    return xh.load_text_classifier(), xh.load_text_model("all-minilm-l6-v2")


def sentence_row(classifier, encoder, index, sentence):
    """One sentence's row: the predicted class, each reading's Spearman rho with |leave-one-out drop|, and the share
    of [CLS] + [SEP] in raw attention and in value norms."""
    prediction = classifier.predict([sentence])[0][0]
    tokens, attention = xh.attention_maps(encoder, sentence)
    tokens, drops = xh.methods.token_occlusion(classifier, sentence, prediction.index)
    attention = attention[..., :len(tokens), :len(tokens)]
    norms = xh.methods.value_norm_attention(classifier, sentence, combine_heads=True)
    norms = norms / norms.sum(-1, keepdim=True)                    # each row: shares of what is moved
    reading = {"raw attention": attention.mean((0, 1, 2)), "rollout": xh.attention_rollout(attention).mean(0),
               "gradient rollout": xh.methods.gradient_rollout(classifier, sentence, prediction.index).mean(0),
               "value norms": norms.mean((0, 1))}
    target = xh.to_numpy(drops.abs())[1:-1]
    row = {"sentence": index, "prediction": prediction.label, "words": len(tokens) - 2}
    for name in READINGS:
        rho = spearmanr(xh.to_numpy(reading[name])[1:-1], target).statistic
        row[f"rho {name}"] = float(np.nan_to_num(rho))              # a constant reading ranks nothing: 0
    for name in ("raw attention", "value norms"):
        row[f"special share {name}"] = float(reading[name][[0, -1]].sum())
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", nargs="+", type=int, help="corpus indices (default: all; then written)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    classifier, encoder = models()
    corpus = xh.data.load_sentence_corpus()
    chosen = args.sentences if args.sentences else range(len(corpus))
    start = time.time()
    table = pd.DataFrame([sentence_row(classifier, encoder, i, corpus[i]) for i in chosen])
    if args.sentences:
        print(table.round(4).to_string())
        return
    OUT.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT, index=False, float_format="%.6g")
    print(f"{len(table)} sentences in {time.time() - start:.0f} s -> {OUT}")
    print(table[[c for c in table if c.startswith(("rho", "special"))]].mean().round(3).to_string())


if __name__ == "__main__":
    main()
