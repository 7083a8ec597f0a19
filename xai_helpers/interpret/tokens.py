"""Token attributions: their record (``TextInterpretation``) and how they are drawn -- coloured HTML, a wrapped
matplotlib figure, Captum's visualisation table."""
import html
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
import matplotlib.colors as mcolors
import numpy as np
import torch
from IPython.display import HTML
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from .._typecheck import checked
from .._validate import as_float_array, check_count
from ..models.prediction import Prediction
from ..viz.plotting import SIGNED_CMAP

__all__ = ["TextInterpretation", "render_tokens_html", "show_token_attributions", "captum_text_visualization"]

#: One attribution per token: a tensor (any device with values), an array or a list of numbers.
Attributions = torch.Tensor | np.ndarray | Sequence[float]


# --- the record ---------------------------------------------------------------------------------------------
@dataclass
class TextInterpretation:
    """One attribution per token (Layer Integrated Gradients on the embeddings layer; taught in 4.5).

    The attributions explain ``quantity`` for ``target``: ``"margin"`` = the target's log-odds
    ``log p / (1 - p)`` (with two classes exactly logit(target) - logit(other), the number whose sign
    decides the prediction), or ``"logit"`` = the target's logit alone. They sum to
    ``text_score - reference_score`` (up to ``delta``): relative to the reference, not to 0. In a notebook
    the record shows itself as coloured tokens; ``show()`` draws them with matplotlib.

    Args:
        text: The sentence explained.
        tokens: Every token, [CLS] and [SEP] included.
        attributions: One signed number per token; they sum to ``score_difference`` (+ ``delta``).
        prediction: The top class.
        target: The class index explained.
        target_label: That class's name.
        probabilities: Label -> probability, for every class.
        delta: Convergence delta: sum(attributions) - (F(text) - F(reference)).
        score_difference: F(text) - F(reference) of the explained quantity.
        reference_tokens: The reference's tokens ([CLS]/[SEP] kept, the rest [PAD]).
        quantity: What F is: ``"margin"`` (log-odds of the target) or ``"logit"``.
        text_score: F(text).
        reference_score: F(reference): where the attributions start from.

    Example:
        >>> import xai_helpers as xh
        >>> result = xh.TextClassifierInterpreter(xh.load_text_classifier(), n_steps=4).interpret("A great film.")
        >>> result.prediction
        Prediction(index=1, label='positive', probability=0.99...)
        >>> result.tokens
        ['[CLS]', 'a', 'great', 'film', '.', '[SEP]']
        >>> bool(abs(result.attributions.sum() - (result.score_difference + result.delta)) < 1e-3)
        True
    """
    text: str
    tokens: list[str]
    attributions: np.ndarray
    prediction: Prediction
    target: int
    target_label: str
    probabilities: dict[str, float]
    delta: float
    score_difference: float
    reference_tokens: list[str]
    quantity: str = "margin"
    text_score: float = float("nan")
    reference_score: float = float("nan")

    @property
    def relative_error(self) -> float:
        """|delta| / |F(text) - F(reference)|: how far the attributions are from completeness."""
        return abs(self.delta) / max(abs(self.score_difference), 1e-12)

    @checked
    def show(self, ax: Axes | None = None) -> Figure:
        """Draw the tokens coloured by attribution (matplotlib): red = for the target, blue = against.

        Args:
            ax: The axes to draw on; None = a new figure.

        Returns:
            The matplotlib figure.

        Example:
            >>> import xai_helpers as xh
            >>> result = xh.TextClassifierInterpreter(xh.load_text_classifier(), n_steps=4).interpret("Dull.")
            >>> type(result.show()).__name__
            'Figure'
        """
        return show_token_attributions(self, ax=ax)

    def _repr_html_(self):
        return render_tokens_html(self.tokens, self.attributions, title=self.title())

    def title(self) -> str:
        """One line with the prediction and the scores the attributions explain (the figures' title).

        Returns:
            The prediction, the explained quantity on the text and the reference, the attributions' sum and delta.

        Example:
            >>> import xai_helpers as xh
            >>> result = xh.TextClassifierInterpreter(xh.load_text_classifier(), n_steps=4).interpret("A great film.")
            >>> result.title()
            "prediction: positive (99.9%) · attributions of the margin (log-odds) of 'positive': text +6.67, ..."
        """
        what = "margin (log-odds)" if self.quantity == "margin" else "logit"
        return (f"prediction: {self.prediction.label} ({self.prediction.probability:.1%}) · attributions of the "
                f"{what} of '{self.target_label}': text {self.text_score:+.2f}, reference "
                f"{self.reference_score:+.2f}, sum {self.attributions.sum():+.2f} (delta {self.delta:+.1e})")


def _token_colour(value, scale):
    """Diverging colour centred at 0: red = for the target class, blue = against, white = 0."""
    cmap = matplotlib.colormaps[SIGNED_CMAP]
    # the outer 15 % of the palette is too dark for black text: use 0.5 +- 0.35
    return cmap(0.5 + 0.35 * float(np.clip(value / scale, -1, 1)) if scale > 0 else 0.5)


@checked
def render_tokens_html(tokens: Sequence[str], attributions: Attributions, title: str | None = None) -> str:
    """HTML: every token on a diverging background centred at 0 (scale = max |attribution|) (taught in 4.5).

    Tokens are HTML-escaped, so a token such as ``<script>`` is shown as text, never run. Hovering a token
    shows its attribution.

    Args:
        tokens: The tokens, in order.
        attributions: One finite number per token (red = for the class, blue = against, white = 0).
        title: A line shown above the tokens; None = none.

    Returns:
        The HTML as a string (``IPython.display.HTML(...)`` shows it in a notebook).

    Raises:
        ValueError: The numbers of tokens and attributions differ, or an attribution is not finite.

    Example:
        >>> from xai_helpers.interpret import render_tokens_html
        >>> page = render_tokens_html(["[CLS]", "<b>great</b>", "[SEP]"], [0.0, 1.5, 0.0])
        >>> page.count("<span"), "&lt;b&gt;great&lt;/b&gt;" in page
        (3, True)
    """
    values = as_float_array(attributions, "attributions").ravel()
    if len(tokens) != len(values):
        raise ValueError(f"{len(tokens)} tokens but {len(values)} attributions: pass one attribution per token.")
    if not np.isfinite(values).all():
        raise ValueError("attributions contains NaN or infinite values; each token needs a finite attribution.")
    scale = float(np.abs(values).max()) if len(values) else 0.0
    spans = []
    for token, value in zip(tokens, values):
        colour = mcolors.to_hex(_token_colour(value, scale))
        spans.append(f'<span title="{value:+.4f}" style="background-color:{colour}; color:black; padding:1px 3px; '
                     f'margin:1px; border-radius:3px; display:inline-block; font-family:monospace">'
                     f"{html.escape(str(token))}</span>")
    head = f"<div style='font-size:90%'>{html.escape(title)}</div>" if title else ""
    legend = (f"<div style='font-size:80%'>colour scale: ±{scale:.3g} (red = for the class, blue = against, "
              "white = 0)</div>")
    return f"<div>{head}<div style='line-height:2'>{' '.join(spans)}</div>{legend}</div>"


@checked
def show_token_attributions(result: TextInterpretation, ax: Axes | None = None,
                            max_chars_per_line: int = 70) -> Figure:
    """Matplotlib drawing of a ``TextInterpretation``: every token, wrapped over lines, diverging colours.

    Taught in 4.5 (``result.show()`` calls it). Red = evidence for the target class, blue = against.

    Args:
        result: What ``TextClassifierInterpreter.interpret`` returned.
        ax: The axes to draw on; None = a new figure.
        max_chars_per_line: Where the tokens wrap, in characters.

    Returns:
        The matplotlib figure.

    Example:
        >>> import numpy as np
        >>> from xai_helpers.interpret import TextInterpretation, show_token_attributions
        >>> from xai_helpers.models import Prediction
        >>> result = TextInterpretation(text="good", tokens=["[CLS]", "good", "[SEP]"],
        ...     attributions=np.array([0.0, 2.0, 0.0]), prediction=Prediction(1, "positive", 0.9), target=1,
        ...     target_label="positive", probabilities={"negative": 0.1, "positive": 0.9}, delta=0.0,
        ...     score_difference=2.0, reference_tokens=["[CLS]", "[PAD]", "[SEP]"])
        >>> fig = show_token_attributions(result, max_chars_per_line=40)
        >>> [t.get_text() for t in fig.axes[0].texts]
        ['[CLS]', 'good', '[SEP]']
    """
    check_count(max_chars_per_line, "max_chars_per_line")
    import matplotlib.pyplot as plt
    tokens = result.tokens
    values = as_float_array(result.attributions, "result.attributions").ravel()
    scale = float(np.abs(values).max()) or 1.0
    lines, current, width = [], [], 0
    for token, value in zip(tokens, values):
        if current and width + len(token) + 1 > max_chars_per_line:
            lines.append(current)
            current, width = [], 0
        current.append((token, value))
        width += len(token) + 1
    if current:
        lines.append(current)
    if ax is None:
        fig, ax = plt.subplots(figsize=(min(12, 0.13 * max_chars_per_line + 2), 0.55 * len(lines) + 1.3))
    fig = ax.figure
    ax.set_xlim(0, max_chars_per_line + 2)
    ax.set_ylim(len(lines) + 0.3, -0.6)
    ax.axis("off")
    for row, line in enumerate(lines):
        x = 0.5
        for token, value in line:
            ax.text(x, row, token, fontsize=11, family="monospace", va="center",
                    bbox=dict(boxstyle="round,pad=0.25", facecolor=_token_colour(value, scale), edgecolor="0.8"))
            x += len(token) + 1.2
    ax.set_title(_wrap(result.title(), 110), fontsize=9)
    what = "margin" if result.quantity == "margin" else "logit"
    fig.colorbar(ScalarMappable(norm=Normalize(-scale, scale), cmap=SIGNED_CMAP), ax=ax, orientation="horizontal",
                 fraction=0.08, pad=0.02, aspect=40, label=f"attribution to the {what} of '{result.target_label}' "
                 "(red = for, blue = against, white = 0)")
    return fig


def _wrap(text, width):
    return "\n".join(textwrap.wrap(text, width))


@checked
def captum_text_visualization(results: Sequence[TextInterpretation], true_labels: Sequence[str] | None = None) -> HTML:
    """Captum's ``visualize_text`` table for several ``TextInterpretation`` (taught in 4.5).

    Tokens are HTML-escaped first (Captum inserts them verbatim) and attributions are divided by
    their max |value|, so Captum's green/red scale is centred at 0 and no token is dropped.

    Args:
        results: What ``TextClassifierInterpreter.interpret`` returned, one per row.
        true_labels: The true label of each text, shown in the table; None = "?".

    Returns:
        The table as IPython HTML; Captum also displays it (in a notebook: below the cell).

    Raises:
        ValueError: ``true_labels`` does not hold one label per result.

    Example:
        >>> import xai_helpers as xh
        >>> interpreter = xh.TextClassifierInterpreter(xh.load_text_classifier(), n_steps=4)
        >>> results = [interpreter.interpret(text) for text in ("A good film.", "Dull.")]
        >>> table = xh.interpret.captum_text_visualization(results, true_labels=["positive", "negative"])
        <IPython.core.display.HTML object>
        >>> "good" in table.data
        True
    """
    from captum.attr import visualization as viz
    if true_labels is not None and len(true_labels) != len(results):
        raise ValueError(f"true_labels holds {len(true_labels)} labels for {len(results)} results: pass one per "
                         "result, or None.")
    records = []
    for i, r in enumerate(results):
        values = as_float_array(r.attributions, f"results[{i}].attributions").ravel()
        scale = float(np.abs(values).max()) or 1.0
        true = true_labels[i] if true_labels is not None else "?"
        records.append(viz.VisualizationDataRecord(
            torch.tensor(values / scale), r.prediction.probability, html.escape(r.prediction.label),
            html.escape(str(true)), html.escape(r.target_label), float(values.sum()),
            [html.escape(t) for t in r.tokens], r.delta))
    return viz.visualize_text(records)
