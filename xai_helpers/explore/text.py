"""The text explorer: type a sentence, see the sentiment prediction, token attributions and attention.

Attributions are Layer Integrated Gradients of the margin (``TextClassifierInterpreter``), read as
margin, reference score and completeness delta; the attention view is the encoder's attention for the
same sentence (heads averaged, one layer). Every piece of the sentence is HTML-escaped.
"""
import html


from matplotlib.figure import Figure

from .._typecheck import checked

from ..methods.attention import attention_maps
from ..viz.attention import plot_attention
from .runner import Choice, Runner, error_text, figure_png, png_bundle, resolve_interactive, watch_forward_passes
from ..interpret import TextClassifierInterpreter, render_tokens_html, show_token_attributions
from ..models.sentiment import DEFAULT_TEXT_CLASSIFIER, TextClassifier, load_text_classifier
from ..models.text import load_text_model
from .settings import check_settings, check_view, class_index

__all__ = ["explore_text", "TextExplorer", "DEFAULT_SENTENCE"]

#: The sentence the text explorer starts with: praise and criticism, so the two classes compete.
DEFAULT_SENTENCE: str = "The acting was wonderful, but the plot was a little slow."

#: What a view from ``compute`` holds (``figure`` and ``tokens_html`` draw it).
TEXT_VIEW_KEYS = ("result", "attention", "settings")
#: Every setting of the text explorer and the kind of value it takes (``update`` checks changes against it).
TEXT_SETTING_HINTS = {"text": str, "target": int | str | None, "layer": int | None}
#: LIG steps x tokens per forward pass. A pass's activations grow with both (attention with tokens squared), so
#: a sentence of up to 20 tokens runs its 50 steps in one pass and longer ones in more, smaller passes: a
#: 130-token text peaks at ~0.3 GB above the kernel's base instead of ~1.1 GB.
TOKEN_STEPS_PER_PASS: int = 1000


def reading_text(result):
    """One ``TextInterpretation`` in plain words: the prediction, the explained margin, the reference, and the
    attributions' sum and delta (not escaped)."""
    _, label, p = result.prediction
    return (f"prediction: {label} ({p:.1%}). Attributions of the margin (log-odds) of '{result.target_label}': "
            f"sentence {result.text_score:+.2f}, reference {result.reference_score:+.2f} (all words -> [PAD]); "
            f"they sum to {result.attributions.sum():+.2f} = margin - reference, delta {result.delta:+.1e}.")


class TextExplorer:
    """The text explorer: a sentence, the sentiment classifier's reading of it, token attributions, attention (4.5).

    ``explore_text`` builds one; lesson 4.5 (end to end) embeds it. The attributions are Layer Integrated
    Gradients of the margin (``TextClassifierInterpreter``); the attention view is the encoder's attention for
    the same sentence (heads averaged, one layer), shown for the course classifier, whose encoder is the
    MiniLM of lesson 4.4a. The first view is drawn at once; later changes (``update`` or a widget) are
    computed in a worker thread, a newer one superseding an older. ``.view`` is the newest drawn view (a
    dict), ``.png`` its figure as PNG bytes, ``.widget`` the ipywidgets box (``None`` for the static figure),
    ``.runner`` the worker machinery and ``.last_error`` the error of the newest failed change.

    Args:
        text: The sentence to explain (default ``DEFAULT_SENTENCE``).
        classifier: A ``TextClassifier`` or the name of one (see ``load_text_classifier``); ``None`` loads
            the offline course classifier.
        target: The class explained: an index or a class name (``"positive"``); ``None`` means the
            predicted class.
        layer: The encoder layer whose attention is shown, 0-based; ``None`` means the last.
        interactive: ``True`` for widgets, ``False`` for the static figure, ``None`` for widgets inside a
            Jupyter kernel and the static figure elsewhere (``explore.runner.resolve_interactive``).

    Raises:
        TypeError: An argument is of the wrong kind (the message names it).
        ValueError: An unknown classifier or class name, a layer out of range, or an empty sentence.

    Example:
        >>> import xai_helpers as xh
        >>> explorer = xh.explore.TextExplorer("A wonderful film.", interactive=False)
        >>> explorer
        TextExplorer('minilm_sentiment', 'A wonderful film.')
        >>> explorer.view["result"].prediction.label, explorer.view["attention"][2]
        ('positive', 5)
    """

    @checked
    def __init__(self, text: str = DEFAULT_SENTENCE, classifier: str | TextClassifier | None = None,
                 target: int | str | None = None, layer: int | None = None, interactive: bool | None = None) -> None:
        interactive = resolve_interactive(interactive)
        self.classifier = classifier if isinstance(classifier, TextClassifier) else load_text_classifier(classifier)
        self.interpreter = TextClassifierInterpreter(self.classifier)
        self.text_model = None
        if self.classifier.name == DEFAULT_TEXT_CLASSIFIER:   # its encoder is the attention lesson's MiniLM
            self.text_model = load_text_model("all-minilm-l6-v2")
        self.settings = {"text": text, "target": None, "layer": None}
        given = {"target": target, "layer": layer}
        self.settings.update(check_settings("TextExplorer", TEXT_SETTING_HINTS, given, self._checked_value))
        self.runner, self.view, self.png, self.widget, self.ui, self.last_error = Runner(), None, None, None, None, None
        self.runner.run_now(lambda g: self.compute(dict(self.settings), g), self._store)
        if interactive:
            self.widget = _TextWidgets(self).box

    def _checked_value(self, name, value):
        """A setting's value of the right kind checked -> the value stored (a class name becomes its index)."""
        if name == "target" and value is not None:
            return class_index(value, self.classifier.labels)
        if name == "layer" and value is not None and self.text_model is not None:
            if not 0 <= value < self.text_model.num_layers:
                raise ValueError(f"layer must be between 0 and {self.text_model.num_layers - 1} (0-based), "
                                 f"got {value}.")
        return value

    def __repr__(self):
        return f"TextExplorer({self.classifier.name!r}, {self.settings['text']!r})"

    def _repr_mimebundle_(self, include=None, exclude=None):
        return png_bundle(self.png, repr(self), self.widget)

    def compute(self, s: dict, generation: int) -> dict:
        """Compute the view for settings ``s``: the attributions of the sentence and its attention.

        The worker calls this; before every forward pass it checks that no newer change exists (else it
        gives up with ``Superseded``). Nothing is stored: ``figure(view)`` draws the result.

        Args:
            s: The settings, as in ``.settings`` (``text``, ``target``, ``layer``).
            generation: The change this computation belongs to (``.runner.generation``).

        Returns:
            The view: a dict with ``result`` (the ``TextInterpretation``), ``attention`` (``(tokens, matrix,
            layer)``, or ``None`` for a classifier other than the course's) and ``settings``.

        Example:
            >>> import xai_helpers as xh
            >>> explorer = xh.explore_text(interactive=False)
            >>> view = explorer.compute(dict(explorer.settings, text="A dull film."), explorer.runner.generation)
            >>> view["result"].prediction.label, view["result"].tokens
            ('negative', ['[CLS]', 'a', 'dull', 'film', '.', '[SEP]'])
        """
        self.interpreter.batch_size = self._steps_per_pass(s["text"])   # computations run one at a time
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

    def _steps_per_pass(self, text):
        """LIG steps per forward pass for ``text``: ``TOKEN_STEPS_PER_PASS`` divided by its token count."""
        clf = self.classifier
        n_tokens = len(clf.tokenizer(text, truncation=True, max_length=clf.max_length)["input_ids"]) \
            if isinstance(text, str) else 1      # not a text: interpret() gives the error message
        return max(1, min(self.interpreter.n_steps, TOKEN_STEPS_PER_PASS // n_tokens))

    @checked
    def figure(self, view: dict | None = None) -> Figure:
        """Draw a view as one matplotlib ``Figure`` (made without pyplot, so it is never shown twice).

        Args:
            view: A view from ``compute``; ``None`` means the newest drawn view (``.view``).

        Returns:
            The figure: the tokens coloured by their attribution on top, the attention matrix below.

        Example:
            >>> import xai_helpers as xh
            >>> fig = xh.explore_text("A wonderful film.", interactive=False).figure()
            >>> fig.axes[1].get_title()
            'attention, layer 6, mean over heads (rows: queries)'
        """
        view = check_view(view, self.view, TEXT_VIEW_KEYS)
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

    @checked
    def tokens_html(self, view: dict | None = None) -> str:
        """The reading of a view and its tokens coloured by attribution, as HTML (every piece escaped).

        Args:
            view: A view from ``compute``; ``None`` means the newest drawn view (``.view``).

        Returns:
            HTML: the prediction, margin, reference and delta in words, then the coloured tokens.

        Example:
            >>> import xai_helpers as xh
            >>> shown = xh.explore_text("I <b>loved</b> it", interactive=False).tokens_html()
            >>> "<b>" in shown, "&lt;" in shown, "prediction: positive" in shown
            (False, True, True)
        """
        result = check_view(view, self.view, TEXT_VIEW_KEYS)["result"]
        return (f"<div style='font-size:90%'>{html.escape(reading_text(result))}</div>"
                + render_tokens_html(result.tokens, result.attributions))

    def update(self, **changes: object) -> Choice:
        """Change settings and recompute in the worker (what the widgets call; also callable directly).

        Each change is checked at once: an unknown setting, a wrong kind of value, an unknown class name or
        a layer out of range raises here, naming the setting. An empty sentence is the interpreter's to
        refuse: its error ends up in ``.last_error`` (and in the widget).

        Args:
            **changes: Any of ``text`` (the sentence), ``target`` (a class index or name; ``None`` = the
                predicted class) and ``layer`` (the attention layer, 0-based; ``None`` = the last).

        Returns:
            A ``Choice`` for this change: ``.join()`` waits until its view is drawn (or a newer change replaced
            it); ``.is_alive()`` says whether it is still pending.

        Raises:
            TypeError: A setting's value is of the wrong kind.
            ValueError: An unknown setting or class name, or a layer out of range.

        Example:
            >>> import xai_helpers as xh
            >>> explorer = xh.explore_text(interactive=False)
            >>> explorer.update(text="A dull film.", target="positive").join()
            >>> explorer.view["result"].prediction.label, explorer.view["result"].target_label
            ('negative', 'positive')
        """
        self.settings.update(check_settings("update", TEXT_SETTING_HINTS, changes, self._checked_value))
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


@checked
def explore_text(text: str = DEFAULT_SENTENCE, classifier: str | TextClassifier | None = None, *,
                 target: int | str | None = None, layer: int | None = None,
                 interactive: bool | None = None) -> TextExplorer:
    """Explore the sentiment classifier on a sentence: widgets in a notebook, a static figure elsewhere (4.5).

    The explorer shows the prediction, the margin reading and each token's attribution (Layer Integrated
    Gradients), and the encoder's attention for the same sentence (heads averaged); its widgets change the
    sentence, the class explained and the attention layer.

    Args:
        text: The sentence to explain (default ``DEFAULT_SENTENCE``).
        classifier: A ``TextClassifier`` or the name of one; ``None`` loads the offline course classifier.
        target: The class explained: an index or a class name; ``None`` means the predicted class.
        layer: The encoder layer whose attention is shown, 0-based; ``None`` means the last.
        interactive: Widgets (``True``), the static figure (``False``), or widgets only where the code runs in
            a Jupyter kernel (``None``, the default).

    Returns:
        The ``TextExplorer``, which displays itself when a cell ends with it.

    Raises:
        TypeError: An argument is of the wrong kind (the message names it).
        ValueError: An unknown classifier or class name, a layer out of range, or an empty sentence.

    Example:
        >>> import xai_helpers as xh
        >>> explorer = xh.explore_text("Great film.", target="negative", layer=0, interactive=False)
        >>> explorer.view["result"].target_label, explorer.view["attention"][2]
        ('negative', 0)
    """
    return TextExplorer(text, classifier=classifier, target=target, layer=layer, interactive=interactive)
