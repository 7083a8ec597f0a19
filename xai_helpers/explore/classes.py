"""Class names a learner types: the closest names of a model's classes, by words, spelling and meaning.

ImageNet's 1000 class names are WordNet's first lemma of each class ("beacon", not "lighthouse"; "tabby", not
"cat"), so a name a learner types is often none of them. ``closest_classes`` ranks the model's names three
ways, in this order: names spelled almost alike (typos: "tabyy" -> "tabby", "hot dog" -> "hotdog"; difflib's
ratio), names sharing a whole word with the query ("cat" -> "tiger cat", "Persian cat"), and, for long label
lists, names close in meaning: the offline sentence encoder of lesson 4.4a (MiniLM, mean-pooled token vectors,
cosine similarity; "lighthouse" -> "beacon", "sofa" -> "studio couch"). The label vectors are computed once
per label list.
"""
import difflib
import functools
import re

import torch

from .._typecheck import checked
from ..models.text import DEFAULT_TEXT_MODEL, load_text_model

__all__ = ["closest_classes", "unknown_class_message", "MEANING_MIN_LABELS"]

#: Label lists at least this long are also searched by meaning (a short list is shown whole anyway).
MEANING_MIN_LABELS = 50
#: difflib ratios from which a name counts as the same name misspelt: ranked before word matches ("hot dog" ->
#: "hotdog"), and after them.
CLOSE_SPELLING, SPELLING_CUTOFF = 0.85, 0.75

_WORD = re.compile(r"[a-z0-9]+")


def _words(text):
    return set(_WORD.findall(text.lower()))


def _by_words(query, labels):
    words = _words(query)
    if not words:
        return []
    hits = [(len(words & _words(label)), -len(label), -i) for i, label in enumerate(labels)
            if words & _words(label)]
    return [-i for *_, i in sorted(hits, reverse=True)]


def _by_spelling(query, labels, cutoff):
    lowered = [label.lower() for label in labels]
    scored = [(difflib.SequenceMatcher(None, query.lower(), name).ratio(), -i) for i, name in enumerate(lowered)]
    return [-i for ratio, i in sorted(scored, reverse=True) if ratio >= cutoff]


def _embed(texts):
    """Unit-length MiniLM sentence vectors (mean of the last layer's token vectors) of ``texts``."""
    encoder = load_text_model(DEFAULT_TEXT_MODEL)
    batch = encoder.tokenizer(list(texts), padding=True, truncation=True, max_length=32, return_tensors="pt")
    with torch.inference_mode():
        hidden = encoder.model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)


@functools.lru_cache(maxsize=2)
def _label_vectors(labels):
    return _embed(labels)


def _by_meaning(query, labels):
    similarity = (_embed([query]) @ _label_vectors(tuple(labels)).T)[0]
    return similarity.argsort(descending=True).tolist()


@checked
def closest_classes(query: str, labels: list[str], k: int = 5, by_meaning: bool | None = None) -> list[str]:
    """The ``k`` names of ``labels`` closest to ``query``: shared words first, then near spellings, then meaning.

    Args:
        query: What the learner typed, e.g. ``"lighthouse"``.
        labels: The model's class names (``image_model.labels``).
        k: How many names to return (at most ``len(labels)``).
        by_meaning: Also rank by meaning with the offline MiniLM encoder; ``None`` means: when ``labels`` holds
            at least ``MEANING_MIN_LABELS`` names (a shorter list is completed in its own order instead).

    Returns:
        Up to ``k`` distinct class names, the closest first.

    Example:
        >>> from xai_helpers.explore.classes import closest_classes
        >>> closest_classes("tabyy", ["tabby", "tiger cat", "goldfish"], k=2)
        ['tabby', 'tiger cat']
        >>> closest_classes("cat", ["tabby", "tiger cat", "Persian cat", "goldfish"], k=3)
        ['tiger cat', 'Persian cat', 'tabby']
    """
    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"query must be a class name to look for, e.g. 'lighthouse'; got {query!r}.")
    labels = [str(label) for label in labels]
    by_meaning = len(labels) >= MEANING_MIN_LABELS if by_meaning is None else by_meaning
    ranked = (_by_spelling(query, labels, CLOSE_SPELLING) + _by_words(query, labels)
              + _by_spelling(query, labels, SPELLING_CUTOFF))
    ranked += _by_meaning(query.strip(), labels) if by_meaning else _by_spelling(query, labels, 0.0)
    chosen = list(dict.fromkeys(ranked))[:max(k, 0)]
    return [labels[i] for i in chosen]


@checked
def unknown_class_message(query: str, suggestions: list[str]) -> str:
    """The one line shown for a class name the model does not have (plain text, not escaped).

    Args:
        query: What the learner typed.
        suggestions: The closest names (``closest_classes``).

    Returns:
        ``"no class 'lighthouse' — closest: beacon, pier, …; pick one below"``.

    Example:
        >>> from xai_helpers.explore.classes import unknown_class_message
        >>> unknown_class_message("lighthouse", ["beacon", "pier"])
        "no class 'lighthouse' — closest: beacon, pier (pick one below, or type another name)"
    """
    closest = ", ".join(suggestions) if suggestions else "none"
    return f"no class {query.strip()!r} — closest: {closest} (pick one below, or type another name)"
