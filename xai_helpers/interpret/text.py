"""``TextClassifierInterpreter``: Layer Integrated Gradients (Captum) on a text classifier's embeddings layer.

The model runs on ``input_ids`` + ``attention_mask``; reference = the same sequence with [CLS]/[SEP] kept and
every other token replaced by [PAD]. One attribution per token, signed. By default it explains the *margin*
that decides the prediction (the target's log-odds; with two classes, logit(target) - logit(other)), not one
logit, and it reports the margin on the reference.
"""
from dataclasses import dataclass

import numpy as np
import torch

from .._validate import resolve_target
from ..models.text import check_text
from .tokens import render_tokens_html, show_token_attributions

__all__ = ["TextClassifierInterpreter", "TextInterpretation", "TEXT_QUANTITIES"]


#: What ``TextClassifierInterpreter`` can attribute: the decision margin (log-odds) or one logit.
TEXT_QUANTITIES = ("margin", "logit")


# --- text ---------------------------------------------------------------------------------------------
@dataclass
class TextInterpretation:
    """One attribution per token (Layer Integrated Gradients on the embeddings layer).

    The attributions explain ``quantity`` for ``target``: ``"margin"`` = the target's log-odds
    ``log p / (1 - p)`` (with two classes exactly logit(target) - logit(other), the number whose sign
    decides the prediction), or ``"logit"`` = the target's logit alone. They sum to
    ``text_score - reference_score`` (up to ``delta``): relative to the reference, not to 0.
    """
    text: str
    tokens: list                 # every token, [CLS] and [SEP] included
    attributions: np.ndarray     # one signed number per token; they sum to score_difference (+ delta)
    prediction: tuple            # (label, probability) of the top class
    target: int
    target_label: str
    probabilities: dict          # label -> probability
    delta: float                 # convergence delta: sum(attributions) - (F(x) - F(reference))
    score_difference: float      # F(text) - F(reference) of the explained quantity
    reference_tokens: list
    quantity: str = "margin"     # what F is: "margin" (log-odds of the target) or "logit"
    text_score: float = float("nan")       # F(text)
    reference_score: float = float("nan")  # F(reference): where the attributions start from

    @property
    def relative_error(self):
        return abs(self.delta) / max(abs(self.score_difference), 1e-12)

    def show(self, ax=None):
        """Draw the tokens coloured by attribution (matplotlib); returns the figure."""
        return show_token_attributions(self, ax=ax)

    def _repr_html_(self):
        return render_tokens_html(self.tokens, self.attributions, title=self.title())

    def title(self):
        what = "margin (log-odds)" if self.quantity == "margin" else "logit"
        return (f"prediction: {self.prediction[0]} ({self.prediction[1]:.1%}) · attributions of the {what} of "
                f"'{self.target_label}': text {self.text_score:+.2f}, reference {self.reference_score:+.2f}, "
                f"sum {self.attributions.sum():+.2f} (delta {self.delta:+.1e})")


def _log_odds(logits, target):
    """log p_target / (1 - p_target) from logits: logit(target) - logsumexp(other logits)."""
    others = torch.cat([logits[:, :target], logits[:, target + 1:]], dim=1)
    return logits[:, target] - torch.logsumexp(others, dim=1)


class TextClassifierInterpreter:
    """Token attributions for a ``TextClassifier`` (``load_text_classifier()``) with Layer IG.

    The model is run on ``input_ids`` and ``attention_mask`` exactly as in prediction; Captum's
    ``LayerIntegratedGradients`` interpolates the output of ``classifier.embeddings`` between the
    reference sequence ([CLS]/[SEP] kept, all other tokens -> [PAD]) and the text. ``n_steps``
    Gauss-Legendre points (Captum's default rule). ``explain``: ``"margin"`` (default) attributes the
    target's log-odds, i.e. with two classes logit(target) - logit(other), the quantity whose sign is
    the decision; ``"logit"`` attributes the target's logit alone (it also moves with whatever raises
    both logits together, which changes no prediction).
    """

    def __init__(self, classifier, n_steps=50, batch_size=None, explain="margin"):
        for attr in ("model", "tokenizer", "labels", "embeddings"):
            if not hasattr(classifier, attr):
                raise TypeError(f"TextClassifierInterpreter needs a classifier from load_text_classifier() "
                                f"(with .model, .tokenizer, .labels, .embeddings); {type(classifier).__name__} "
                                f"has no .{attr}.")
        if explain not in TEXT_QUANTITIES:
            raise ValueError(f"explain must be 'margin' (the log-odds that decide the prediction) or 'logit', "
                             f"got {explain!r}.")
        self.classifier, self.n_steps, self.batch_size = classifier, n_steps, batch_size
        self.explain = explain

    def reference_ids(self, input_ids):
        """The LIG reference: special tokens ([CLS], [SEP], [PAD]) kept, every other token -> [PAD]."""
        tok = self.classifier.tokenizer
        special = torch.tensor(tok.get_special_tokens_mask(input_ids[0].tolist(), already_has_special_tokens=True),
                               dtype=torch.bool, device=input_ids.device)
        return torch.where(special, input_ids, torch.full_like(input_ids, tok.pad_token_id))

    def _score(self, logits, target):
        return _log_odds(logits, target) if self.explain == "margin" else logits[:, target]

    def interpret(self, text, target=None):
        """Explain one text -> ``TextInterpretation`` (tokens, one attribution each, prediction, delta)."""
        from captum.attr import LayerIntegratedGradients
        clf = self.classifier
        enc = clf.encode([check_text(text)])  # a text that is too long is truncated with a warning
        input_ids, attention_mask = enc["input_ids"], enc["attention_mask"]
        reference = self.reference_ids(input_ids)
        with torch.no_grad():
            logits = clf.model(torch.cat([input_ids, reference]), attention_mask.repeat(2, 1))
        probs = logits[0].softmax(-1).cpu()
        best = int(probs.argmax())
        target = best if target is None else resolve_target(target, len(clf.labels), clf.labels)
        scores = self._score(logits, target).cpu()

        def forward(ids, mask):
            return self._score(clf.model(ids, mask), target)

        lig = LayerIntegratedGradients(forward, clf.embeddings)
        attributions, delta = lig.attribute(inputs=input_ids, baselines=reference,
                                            additional_forward_args=(attention_mask,),
                                            n_steps=self.n_steps, internal_batch_size=self.batch_size,
                                            return_convergence_delta=True)
        per_token = attributions.sum(-1)[0].detach().cpu().numpy()
        convert = clf.tokenizer.convert_ids_to_tokens
        return TextInterpretation(
            text=text, tokens=convert(input_ids[0].tolist()), attributions=per_token,
            prediction=(clf.labels[best], float(probs[best])), target=target, target_label=clf.labels[target],
            probabilities={label: float(p) for label, p in zip(clf.labels, probs)}, delta=float(delta),
            score_difference=float(scores[0] - scores[1]), reference_tokens=convert(reference[0].tolist()),
            quantity=self.explain, text_score=float(scores[0]), reference_score=float(scores[1]))

    def show(self, result, ax=None):
        """Draw the tokens coloured by attribution (``result.show()``); returns the figure."""
        return result.show(ax=ax)
