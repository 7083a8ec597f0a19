"""The text explorer: type a sentence, see the sentiment prediction, token attributions and attention.

Attributions are Layer Integrated Gradients of the margin (``TextClassifierInterpreter``), read as
margin, reference score and completeness delta; the attention view is the encoder's attention for the
same sentence (heads averaged, one layer). Every piece of the sentence is HTML-escaped.
"""
import html
from matplotlib.figure import Figure

from ..methods.attention import attention_maps
from ..viz.attention import plot_attention
from .runner import Runner, error_text, figure_png, png_bundle, resolve_interactive, watch_forward_passes
from ..interpret import TextClassifierInterpreter, render_tokens_html, show_token_attributions
from ..models.sentiment import DEFAULT_TEXT_CLASSIFIER, TextClassifier, load_text_classifier
from ..models.text import load_text_model

__all__ = ["explore_text", "TextExplorer", "DEFAULT_SENTENCE"]

DEFAULT_SENTENCE = "The acting was wonderful, but the plot was a little slow."


def reading_text(result):
    """One ``TextInterpretation`` in plain words: the prediction, the explained margin, the reference, and the
    attributions' sum and delta (not escaped)."""
    _, label, p = result.prediction
    return (f"prediction: {label} ({p:.1%}). Attributions of the margin (log-odds) of '{result.target_label}': "
            f"sentence {result.text_score:+.2f}, reference {result.reference_score:+.2f} (all words -> [PAD]); "
            f"they sum to {result.attributions.sum():+.2f} = margin - reference, delta {result.delta:+.1e}.")


class TextExplorer:
    """State, computation and drawing of the text explorer; ``.widget`` is its ipywidgets box (or None)."""

    def __init__(self, text=DEFAULT_SENTENCE, classifier=None, target=None, layer=None, interactive=None):
        self.classifier = classifier if isinstance(classifier, TextClassifier) else load_text_classifier(classifier)
        self.interpreter = TextClassifierInterpreter(self.classifier)
        self.text_model = None
        if self.classifier.name == DEFAULT_TEXT_CLASSIFIER:   # its encoder is the attention lesson's MiniLM
            self.text_model = load_text_model("all-minilm-l6-v2")
        self.settings = {"text": text, "target": target, "layer": layer}
        self.runner, self.view, self.png, self.widget, self.ui, self.last_error = Runner(), None, None, None, None, None
        self.runner.run_now(lambda g: self.compute(dict(self.settings), g), self._store)
        if resolve_interactive(interactive):
            self.widget = _TextWidgets(self).box

    def __repr__(self):
        return f"TextExplorer({self.classifier.name!r}, {self.settings['text']!r})"

    def _repr_mimebundle_(self, include=None, exclude=None):
        return png_bundle(self.png, repr(self), self.widget)

    def compute(self, s, generation):
        """Attributions and attention for settings ``s``; abandoned when a newer sentence arrives."""
        with watch_forward_passes(self.classifier.model, lambda count: self.runner.check(generation)):
            result = self.interpreter.interpret(s["text"], target=s["target"])
        self.runner.check(generation)
        attention = None
        if self.text_model is not None:
            tokens, maps = attention_maps(self.text_model, s["text"])
            layer = maps.shape[0] - 1 if s["layer"] is None else int(s["layer"])
            if not 0 <= layer < maps.shape[0]:
                raise ValueError(f"layer must be between 0 and {maps.shape[0] - 1}, got {layer}.")
            attention = (tokens, maps[layer].mean(0), layer)
        return {"result": result, "attention": attention, "settings": s}

    def figure(self, view=None):
        """The view as one matplotlib ``Figure``: coloured tokens on top, the attention matrix below."""
        view = view or self.view
        n = len(view["result"].tokens)
        side = min(max(0.35 * n + 3, 5), 12)
        fig = Figure(figsize=(max(side + 1, 9), side + 2.2))
        ax_tokens, ax_attention = fig.subplots(2, 1, gridspec_kw={"height_ratios": [1.4, side]})
        show_token_attributions(view["result"], ax=ax_tokens)
        if view["attention"] is None:
            ax_attention.axis("off")
            ax_attention.set_title("no attention view: the classifier is not the course's MiniLM", fontsize=9)
        else:
            tokens, matrix, layer = view["attention"]
            plot_attention(matrix, tokens, ax=ax_attention,
                           title=f"attention, layer {layer + 1}, mean over heads (rows: queries)")
        return fig

    def _store(self, view):
        self.view, self.png = view, figure_png(self.figure(view))
        return view

    def tokens_html(self, view=None):
        """The reading and the coloured tokens as HTML, escaped (a ``<script>`` stays text)."""
        result = (view or self.view)["result"]
        return (f"<div style='font-size:90%'>{html.escape(reading_text(result))}</div>"
                + render_tokens_html(result.tokens, result.attributions))

    def update(self, **changes):
        """Change ``text``, ``target`` (None = the predicted class) or ``layer``; recompute in the worker."""
        unknown = set(changes) - set(self.settings)
        if unknown:
            raise ValueError(f"Unknown explorer setting(s) {sorted(unknown)}; known: {sorted(self.settings)}.")
        self.settings.update(changes)
        s, ui = dict(self.settings), self.ui
        if ui:
            ui.busy()
        draw = (lambda view: ui.show_view(self._store(view))) if ui else self._store

        def on_error(err):
            self.last_error = err
            if ui:
                ui.show_error(err)
        return self.runner.submit(lambda g: self.compute(s, g), draw, on_error)


class _TextWidgets:
    def __init__(self, explorer):
        import ipywidgets as W
        self.explorer, self._quiet = explorer, False
        explorer.ui = self
        n_layers = explorer.text_model.num_layers if explorer.text_model is not None else 1
        self.text = W.Textarea(value=explorer.settings["text"], description="Sentence", continuous_update=False,
                               layout=W.Layout(width="70%"))
        self.target = W.Dropdown(description="Explain", options=[("predicted class", "predicted")]
                                 + [(label, i) for i, label in enumerate(explorer.classifier.labels)])
        self.layer = W.IntSlider(description="Layer", min=1, max=n_layers, value=n_layers, continuous_update=False)
        self.status, self.tokens, self.image = W.HTML(), W.HTML(), W.Image(format="png")
        self.box = W.VBox([self.text, W.HBox([self.target, self.layer]), self.status, self.tokens, self.image])
        for widget, key, convert in ((self.text, "text", str), (self.target, "target", lambda v: None if v == "predicted" else v),
                                     (self.layer, "layer", lambda v: int(v) - 1)):
            widget.observe(self._observer(key, convert), "value")
        self.show_view(explorer.view)

    def _observer(self, key, convert):
        def observer(change):
            try:
                self.explorer.update(**{key: convert(change["new"])})
            except Exception as err:  # a message in the widget, never a traceback
                self.show_error(err)
        return observer

    def busy(self):
        self.status.value = "<span style='color:#555'>computing …</span>"

    def show_view(self, view):
        self.tokens.value = self.explorer.tokens_html(view)
        self.image.value = self.explorer.png
        self.status.value = "Ready"

    def show_error(self, err):
        self.status.value = f"<span style='color:#b00020'>{html.escape(error_text(err))}</span>"


def explore_text(text=DEFAULT_SENTENCE, classifier=None, *, target=None, layer=None, interactive=None):
    """Explore the sentiment classifier on a sentence -> ``TextExplorer`` (widgets or a static figure).

    Shows the prediction, the margin reading and token attributions (Layer IG), and the encoder's
    attention for the same sentence (``layer``: 0-based, default the last, heads averaged).
    ``interactive``: see ``explore.runner.resolve_interactive`` (None = widgets inside a Jupyter kernel).
    """
    return TextExplorer(text, classifier=classifier, target=target, layer=layer, interactive=interactive)
