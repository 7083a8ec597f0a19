"""``TextClassifierInterpreter``: Layer Integrated Gradients (Captum) on a text classifier's embeddings layer.

The model runs on ``input_ids`` + ``attention_mask``; reference = the same sequence with [CLS]/[SEP] kept and
every other token replaced by [PAD]. One attribution per token, signed. By default it explains the *margin*
that decides the prediction (the target's log-odds; with two classes, logit(target) - logit(other)), not one
logit, and it reports the margin on the reference.
"""
from dataclasses import dataclass

import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._typecheck import checked
from .._validate import check_count, check_device, resolve_target
from ..models.prediction import Prediction
from ..models.sentiment import TextClassifier
from ..models.text import check_text
from .tokens import TextInterpretation

__all__ = ["TextClassifierInterpreter", "TEXT_QUANTITIES"]


#: What ``TextClassifierInterpreter`` can attribute: the decision margin (log-odds) or one logit (4.5).
TEXT_QUANTITIES: tuple[str, ...] = ("margin", "logit")


def _log_odds(logits, target):
    """log p_target / (1 - p_target) from logits: logit(target) - logsumexp(other logits)."""
    others = torch.cat([logits[:, :target], logits[:, target + 1:]], dim=1)
    return logits[:, target] - torch.logsumexp(others, dim=1)


class TextClassifierInterpreter:
    """Token attributions for a ``TextClassifier`` (``load_text_classifier()``) with Layer IG (taught in 4.5).

    The model is run on ``input_ids`` and ``attention_mask`` exactly as in prediction; Captum's
    ``LayerIntegratedGradients`` interpolates the output of ``classifier.embeddings`` between the
    reference sequence ([CLS]/[SEP] kept, all other tokens -> [PAD]) and the text, with Gauss-Legendre
    points (Captum's default rule).

    Args:
        classifier: The ``TextClassifier`` from ``load_text_classifier()``.
        n_steps: Quadrature points of Layer IG (forward+backward passes per text).
        batch_size: Interpolated texts per pass; None = all ``n_steps`` at once.
        explain: ``"margin"`` (default) attributes the target's log-odds, i.e. with two classes
            logit(target) - logit(other), the quantity whose sign is the decision; ``"logit"`` attributes the
            target's logit alone (it also moves with whatever raises both logits together, which changes no
            prediction).

    Raises:
        ValueError: ``explain`` is not one of ``TEXT_QUANTITIES``, or a count is below 1.

    Example:
        >>> import xai_helpers as xh
        >>> interpreter = xh.TextClassifierInterpreter(xh.load_text_classifier(), n_steps=4)
        >>> interpreter.interpret("A dull film.").prediction.label
        'negative'
    """

    @checked
    def __init__(self, classifier: TextClassifier, n_steps: int = 50, batch_size: int | None = None,
                 explain: str = "margin") -> None:
        if explain not in TEXT_QUANTITIES:
            raise ValueError(f"explain must be 'margin' (the log-odds that decide the prediction) or 'logit', "
                             f"got {explain!r}.")
        self.classifier, self.n_steps = classifier, check_count(n_steps, "n_steps")
        self.batch_size = None if batch_size is None else check_count(batch_size, "batch_size")
        self.explain = explain

    @checked
    def reference_ids(self, input_ids: torch.Tensor) -> torch.Tensor:
        """The Layer IG reference of a tokenised text: special tokens ([CLS], [SEP], [PAD]) kept, others -> [PAD].

        Args:
            input_ids: One tokenised text, an integer tensor [1, seq] (``classifier.encode([text])["input_ids"]``).

        Returns:
            An integer tensor of the same shape and device.

        Example:
            >>> import xai_helpers as xh
            >>> classifier = xh.load_text_classifier()
            >>> ids = classifier.encode(["A great film."])["input_ids"]
            >>> reference = xh.TextClassifierInterpreter(classifier).reference_ids(ids)
            >>> classifier.tokenizer.convert_ids_to_tokens(reference[0].tolist())
            ['[CLS]', '[PAD]', '[PAD]', '[PAD]', '[PAD]', '[SEP]']
        """
        check_device(input_ids, name="input_ids")
        if input_ids.dim() != 2 or input_ids.shape[0] != 1 or input_ids.is_floating_point() or input_ids.is_complex():
            raise ValueError(f"input_ids must be one tokenised text, an integer tensor [1, seq] "
                             f"(classifier.encode([text])['input_ids']); got {input_ids.dtype} of shape "
                             f"{tuple(input_ids.shape)}.")
        tok = self.classifier.tokenizer
        special = torch.tensor(tok.get_special_tokens_mask(input_ids[0].tolist(), already_has_special_tokens=True),
                               dtype=torch.bool, device=input_ids.device)
        return torch.where(special, input_ids, torch.full_like(input_ids, tok.pad_token_id))

    def _score(self, logits, target):
        return _log_odds(logits, target) if self.explain == "margin" else logits[:, target]

    @checked
    def interpret(self, text: str, target: int | str | None = None) -> TextInterpretation:
        """Explain one text: one signed attribution per token of the margin (or logit) of ``target``.

        Args:
            text: The sentence; one longer than the model reads is truncated with a warning.
            target: The class to explain, an index or a name (``"positive"``); None = the predicted class.

        Returns:
            A ``TextInterpretation`` (tokens, one attribution each, the ``Prediction``, delta).

        Raises:
            ValueError: An empty text, or an unknown class.

        Example:
            >>> import xai_helpers as xh
            >>> interpreter = xh.TextClassifierInterpreter(xh.load_text_classifier(), n_steps=4)
            >>> result = interpreter.interpret("A great film.", target="negative")
            >>> result.target_label, result.prediction.label, len(result.attributions) == len(result.tokens)
            ('negative', 'positive', True)
        """
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
            prediction=Prediction(best, clf.labels[best], float(probs[best])), target=target,
            target_label=clf.labels[target], probabilities={label: float(p) for label, p in zip(clf.labels, probs)},
            delta=float(delta), score_difference=float(scores[0] - scores[1]),
            reference_tokens=convert(reference[0].tolist()), quantity=self.explain, text_score=float(scores[0]),
            reference_score=float(scores[1]))

    @checked
    def show(self, result: TextInterpretation, ax: Axes | None = None) -> Figure:
        """Draw the tokens coloured by attribution (``result.show()``).

        Args:
            result: What ``interpret`` returned.
            ax: The axes to draw on; None = a new figure.

        Returns:
            The matplotlib figure.

        Example:
            >>> import xai_helpers as xh
            >>> interpreter = xh.TextClassifierInterpreter(xh.load_text_classifier(), n_steps=4)
            >>> type(interpreter.show(interpreter.interpret("Fine."))).__name__
            'Figure'
        """
        return result.show(ax=ax)
