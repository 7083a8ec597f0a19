"""Checkers of Problem 4 (chapter 4 exercises): word-level attention from WordPiece attention, a subject-verb probe.

``reference_word_attention``, ``reference_margins`` and ``SPECIAL_TOKENS`` serve the checkers (not part of
``__all__``; importable from this module).
"""
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch

from ..methods import attention_maps
from ..models import TextModel
from .arguments import answers_checked
from .common import (as_array, call_for_result, count, fail, first_mistake, memo, number, numbers_of, ok, quiet,
                     require, require_keys)

__all__ = ["problem4_word_attention", "problem4_margins", "problem4_held_out"]

#: The tokens BERT adds around a sentence; each stays a word of its own.
SPECIAL_TOKENS: tuple[str, ...] = ("[CLS]", "[SEP]")


def _groups(tokens):
    groups = []
    for i, t in enumerate(tokens):
        if t.startswith("##") and groups and tokens[groups[-1][0]] not in SPECIAL_TOKENS:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _spelled(tokens, groups):
    """Each group of pieces as its word: the pieces glued together without their '##'."""
    return [tokens[g[0]] + "".join(tokens[k][2:] for k in g[1:]) for g in groups]


def reference_word_attention(matrix, tokens):
    """WordPiece attention (rows = queries) -> (words, W): W[i, j] = mean over i's pieces of the sum of the
    weights on j's pieces (Clark et al. 2019), so rows still sum to 1; [CLS] and [SEP] stay words."""
    groups = _groups(list(tokens))
    words = _spelled(tokens, groups)
    m = as_array(matrix)
    W = np.array([[m[np.ix_(gi, gj)].sum(1).mean() for gj in groups] for gi in groups])
    return words, W


def _same(got, reference):
    """Same shape and the same values to 1e-5: attention weights are at most 1."""
    return got.shape == reference.shape and np.allclose(got, reference, atol=1e-5)


def _word_variants(m, tokens):
    groups = _groups(list(tokens))
    first = [g[0] for g in groups]
    return [
        (np.array([[m[np.ix_(gi, gj)].mean(1).mean() for gj in groups] for gi in groups]),
         "the attention *to* a word is averaged over its pieces, so the rows no longer sum to 1"),
        (np.array([[m[np.ix_(gi, gj)].sum(1).sum() for gj in groups] for gi in groups]),
         "the attention *from* a word is summed over its pieces' rows, although each piece is one query"),
        (m[np.ix_(first, first)], "only each word's first piece is used; the other pieces are left out"),
        (np.array([[m[np.ix_(gi, gj)].sum(0).mean() for gj in groups] for gi in groups]).T,
         "rows and columns are swapped: row i of the matrix is the query i, column j the key j"),
    ]


def _is_words(value):
    """A list or tuple of strings (the words of ``word_attention``), not numbers."""
    return isinstance(value, (list, tuple)) and all(isinstance(w, str) for w in value)


def _check_words(got_words, ref_words, tokens, label):
    if got_words == ref_words:
        return
    plain = list(tokens)
    if any("##" in str(w) for w in got_words):
        fail(label, "some words still contain '##': the continuation mark is removed when pieces are joined.")
    if any(" " in str(w) for w in got_words):
        fail(label, "pieces are joined with spaces, so a word is not spelled as the sentence spells it.")
    if not any(w in SPECIAL_TOKENS for w in got_words):
        fail(label, "[CLS] and [SEP] are missing, although they are words of their own: much of the attention lands "
                    "on them, and without them the rows no longer sum to 1.")
    if len(got_words) < len(ref_words) and len(set(got_words)) == len(got_words):
        fail(label, f"for tokens {plain} you return {len(got_words)} words where there are {len(ref_words)}: two "
                    "occurrences of the same word were merged into one, although they are different words.")
    fail(label, f"for tokens {plain} the words are {got_words}: a token starting with '##' belongs to the word before "
                "it; every other token starts a new word.")


_CASES = [
    ["[CLS]", "the", "cat", "sat", "[SEP]"],
    ["[CLS]", "the", "hedge", "##hog", "##s", "sat", "on", "the", "mat", "[SEP]"],
    ["[CLS]", "pe", "##lica", "##n", "and", "pe", "##lica", "##n", "[SEP]"],
    ["[CLS]", "a", "vet", "##erina", "##rian", "[SEP]"],
]


@answers_checked("Problem 4a", answers=("word_attention",))
def problem4_word_attention(word_attention: Callable) -> None:
    """Check Task 4a of Problem 4: WordPiece attention merged into word-level attention.

    ``word_attention(matrix, tokens)`` must return (words, W): W[i, j] averages over the pieces of word i (rows)
    the summed weights on the pieces of word j (columns). Tested on token lists with one-piece words only, a
    three-piece word, the same word twice, a split word just before [SEP], tensors and arrays.

    Args:
        word_attention: The learner's function.

    Raises:
        CheckFailed: The words or W are wrong; the message names the mistake (pieces averaged instead of
            summed, '##' kept, [CLS]/[SEP] dropped, rows and columns swapped, ...).
        NotAnsweredYet: ``word_attention`` is None or still raises NotImplementedError.

    Example:
        >>> import numpy as np
        >>> import xai_helpers.check as check
        >>> def word_attention(matrix, tokens):
        ...     groups = []
        ...     for i, token in enumerate(tokens):
        ...         if token.startswith("##") and groups:
        ...             groups[-1].append(i)
        ...         else:
        ...             groups.append([i])
        ...     words = [tokens[g[0]] + "".join(tokens[k][2:] for k in g[1:]) for g in groups]
        ...     m = np.asarray(matrix, dtype=float)
        ...     return words, np.array([[m[np.ix_(a, b)].sum(1).mean() for b in groups] for a in groups])
        >>> check.problem4_word_attention(word_attention)
        ✓ Problem 4a: words and word-level matrices right for 4 token lists (split words, repeated words, numpy and torch).
        >>> check.problem4_word_attention(lambda matrix, tokens: word_attention(np.asarray(matrix).T, tokens))
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.CheckFailed: Problem 4a: for tokens [...]: rows and columns are swapped: ...
    """
    label = "Problem 4a"
    rng = np.random.default_rng(4)
    for k, tokens in enumerate(_CASES):
        m = rng.dirichlet(np.full(len(tokens), 0.4), size=len(tokens))
        matrix = torch.tensor(m, dtype=torch.float32) if k % 2 else m
        result = call_for_result(word_attention, label, "word_attention", "the pair (words, W)", matrix, list(tokens))
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            fail(label, f"word_attention should return a pair (words, W); it returned {type(result).__name__}.")
        first, second = result
        if _is_words(second) and not _is_words(first):
            fail(label, "word_attention returns the pair in the wrong order: (W, words) instead of (words, W).")
        if not _is_words(first):
            fail(label, f"the first item of the pair should be the list of words (strings); got "
                        f"{type(first).__name__}.")
        got_words, got_w = list(first), numbers_of(second, label, "W (the second item of the pair)")
        ref_words, ref_w = reference_word_attention(m, tokens)
        _check_words(got_words, ref_words, tokens, label)
        if got_w.shape != ref_w.shape:
            fail(label, f"W has shape {got_w.shape} for {len(ref_words)} words: it is words x words.")
        if _same(got_w, ref_w):
            continue
        message = first_mistake(_word_variants(as_array(m), tokens), lambda wrong: _same(got_w, wrong))
        if message:
            fail(label, f"for tokens {tokens}: {message}.")
        fail(label, f"for tokens {tokens} W differs: W[i, j] averages over the pieces of word i (rows) the summed "
                    "weights on the pieces of word j (columns).")
    ok(label, f"words and word-level matrices right for {len(_CASES)} token lists (split words, repeated words, "
              "numpy and torch).")


@memo
def _attention(text_model, sentence):
    with quiet():
        return attention_maps(text_model, sentence)


def _position(words, word, label, what):
    if word not in words:
        fail(label, f"{what} {word!r} is not a word of the sentence {words}.")
    return words.index(word)


def reference_margins(attentions, tokens, verb, subject, attractor):
    """[layers, heads]: word-level weight from the verb to the subject minus that to the attractor, per head."""
    a = as_array(attentions)
    out = np.zeros(a.shape[:2])
    for layer in range(a.shape[0]):
        for head in range(a.shape[1]):
            words, W = reference_word_attention(a[layer, head], tokens)
            v, s, t = (words.index(w) for w in (verb, subject, attractor))
            out[layer, head] = W[v, s] - W[v, t]
    return out


def _margin_mistakes(a, toks, words, ref):
    """The classic wrong margins for attention ``a`` [layers, heads, n, n] (``ref`` = the right ones), each with
    its message."""
    yield -ref, "the sign is flipped: the margin is the weight on the attractor minus that on the subject"
    first = {w: toks.index(p) for w, p in zip(words, _first_pieces(toks, words))}
    yield (a[..., first[words[0]], first[words[1]]] - a[..., first[words[0]], first[words[2]]],
           "the margin is read from single tokens (first pieces), so a word split into pieces does not count as "
           "one word")
    words_ref, _ = reference_word_attention(a[0, 0], toks)
    v, s, t = (words_ref.index(w) for w in words)
    yield (np.array([[reference_word_attention(a[l, h], toks)[1][[s, t], v] @ np.array([1, -1])
                      for h in range(a.shape[1])] for l in range(a.shape[0])]),
           "the weights are read from the subject's and attractor's rows: the verb is the query (its row), the "
           "subject and attractor are keys (columns)")


@answers_checked("Problem 4b", answers=("verb_margin",))
def problem4_margins(verb_margin: Callable, text_model: TextModel, sentence: str, verb: str, subject: str,
                     attractor: str) -> None:
    """Check Task 4b of Problem 4: how much more each head's verb attends to its subject than to the attractor.

    ``verb_margin(attentions, tokens, verb, subject, attractor)`` must return the [layers, heads] array of
    W[verb, subject] - W[verb, attractor] of each head's word-level matrix; tested on a random attention tensor
    and on the sentence (which runs the pretrained text model).

    Args:
        verb_margin: The learner's function.
        text_model: The course's text model (``xh.load_text_model()``).
        sentence: The sentence probed.
        verb: The verb, a word of the sentence.
        subject: Its subject, a word of the sentence.
        attractor: The other noun, a word of the sentence.

    Raises:
        CheckFailed: The margins are wrong (the message names the mistake), or an argument is of the wrong kind.
        NotAnsweredYet: ``verb_margin`` is None or still raises NotImplementedError.

    Example:
        A function not written yet is answered before the model runs:

        >>> import xai_helpers.check as check
        >>> check.problem4_margins(None, None, "The keys are here.", "are", "keys", "here")
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.NotAnsweredYet: Problem 4b: `verb_margin` is not there yet (it is None). ...
    """
    label = "Problem 4b"
    real_tokens, real_att = _attention(text_model, sentence)
    real_words = _spelled(real_tokens, _groups(list(real_tokens)))
    for name, word in (("verb", verb), ("subject", subject), ("attractor", attractor)):
        _position(real_words, word, label, f"`{name}`")
    rng = np.random.default_rng(11)
    tokens = ["[CLS]", "the", "kangaroo", "##s", "beside", "the", "pe", "##lica", "##n", "were", "hungry", "[SEP]"]
    random_att = torch.tensor(rng.dirichlet(np.full(len(tokens), 0.5), size=(3, 4, len(tokens))), dtype=torch.float32)
    for att, toks, words in ((random_att, tokens, ("were", "kangaroos", "pelican")),
                             (real_att, real_tokens, (verb, subject, attractor))):
        got = numbers_of(call_for_result(verb_margin, label, "verb_margin", "the margin of every layer and head", att,
                                         list(toks), *words), label, "the result of verb_margin")
        ref = reference_margins(att, toks, *words)
        if got.shape != ref.shape:
            fail(label, f"verb_margin returned shape {got.shape}; expected one value per layer and head {ref.shape} "
                        "(do not average over heads or layers).")
        if _same(got, ref):
            continue
        fail(label, (first_mistake(_margin_mistakes(as_array(att), toks, words, ref), lambda wrong: _same(got, wrong))
                     or "the margins differ from W[verb, subject] - W[verb, attractor] of each head's word-level "
                        "matrix") + ".")
    ok(label, "margins right for every layer and head, on a random attention tensor and on the sentence.")


def _first_pieces(tokens, words):
    """The first piece of each of ``words``."""
    groups = _groups(list(tokens))
    spelled = _spelled(tokens, groups)
    return [tokens[groups[spelled.index(w)][0]] for w in words]


def _check_sentences(held_out_sentences, label):
    """Fail unless each held-out case is (sentence, verb, subject, attractor), four strings."""
    for case in held_out_sentences:
        if not isinstance(case, (tuple, list)) or len(case) != 4 or not all(isinstance(w, str) for w in case):
            fail(label, "`held_out_sentences` should hold (sentence, verb, subject, attractor) tuples of strings; "
                        f"got {case!r}.")


@answers_checked("Problem 4c", answers=("best_head", "held_out", "generalises"))
def problem4_held_out(best_head: Sequence[int], held_out: Mapping, generalises: bool,
                      margins: np.ndarray | torch.Tensor, text_model: TextModel,
                      held_out_sentences: Sequence[Sequence[str]]) -> None:
    """Check Task 4c of Problem 4: does the best head of one sentence keep its margin on other sentences?

    ``best_head`` = (layer, head) with the largest margin on the first sentence; ``held_out[s]`` = that head's
    margin on each held-out sentence (recomputed with the pretrained text model); ``generalises`` = positive on
    every held-out sentence and on average at least half the margin it had on the first sentence.

    Args:
        best_head: The learner's (layer, head).
        held_out: The learner's dict held-out sentence -> margin of ``best_head``.
        generalises: The learner's verdict.
        margins: The [layers, heads] margins on the first sentence (Task 4b).
        text_model: The course's text model (``xh.load_text_model()``).
        held_out_sentences: (sentence, verb, subject, attractor) for each held-out sentence, in order.

    Raises:
        CheckFailed: An answer is wrong, or an argument is of the wrong kind.
        NotAnsweredYet: ``best_head``, ``held_out`` or ``generalises`` is still missing.

    Example:
        >>> import numpy as np
        >>> import xai_helpers.check as check
        >>> check.problem4_held_out((0, 1), {"The keys are here.": 0.1}, None, np.zeros((2, 2)), None, [])
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.NotAnsweredYet: Problem 4c: `generalises` is not there yet (it is None). ...
    """
    label = "Problem 4c"
    require(held_out, label, "held_out")
    m = as_array(margins)
    if m.ndim != 2 or not np.isfinite(m).all():
        fail(label, f"`margins` should be the finite [layers, heads] margins of Task 4b; got shape {m.shape}.")
    _check_sentences(held_out_sentences, label)
    if len(best_head) != 2:
        fail(label, "best_head should be a pair (layer, head).")
    layer, head = (count(v, label, f"best_head[{k}]", "layers or heads") for k, v in enumerate(best_head))
    if (layer, head) != tuple(int(v) for v in np.unravel_index(int(m.argmax()), m.shape)):
        fail(label, "best_head is not the (layer, head) with the largest margin on the first sentence.")
    require_keys(held_out, [s for s, _, _, _ in held_out_sentences], label,
                 "held_out should have one entry per held-out sentence, keyed by the sentence, in the given order")
    values = []
    for sentence, verb, subject, attractor in held_out_sentences:
        tokens, att = _attention(text_model, sentence)
        ref = reference_margins(att, tokens, verb, subject, attractor)
        got = number(held_out[sentence], label, f"held_out[{sentence!r}]")
        if abs(got - ref[layer, head]) > 1e-4:
            if abs(got - ref.max()) < 1e-4:
                fail(label, f"for {sentence!r} you took that sentence's own best head; the test of a head found on one "
                            "sentence is its margin at the same (layer, head) on the others.")
            fail(label, f"held_out[{sentence!r}] is not the margin of head {best_head} on that sentence.")
        values.append(ref[layer, head])
    rule = all(v > 0 for v in values) and np.mean(values) >= 0.5 * m[layer, head]
    if bool(generalises) != bool(rule):
        fail(label, "generalises does not follow the rule from your numbers: positive on every held-out sentence "
                    "AND a mean held-out margin of at least half the margin on the first sentence.")
    ok(label, f"best head {tuple(best_head)}, its margins on {len(values)} held-out sentences and the verdict are right.")
