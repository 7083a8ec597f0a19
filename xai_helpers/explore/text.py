"""The text explorer: type a sentence, see the sentiment prediction, token attributions and attention.

Attributions are Layer Integrated Gradients of the margin (``TextClassifierInterpreter``), read as
margin, reference score and completeness delta; the attention view is the encoder's attention for the
same sentence (heads averaged, one layer). Every piece of the sentence is HTML-escaped.
"""
import html
import textwrap
from pathlib import Path

from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from .._typecheck import checked

from ..methods.attention import attention_maps
from ..viz.attention import plot_attention
from ..viz.plotting import SIGNED_CMAP
from ..viz.tokens import draw_tokens, layout_tokens
from .controls import ROOT_CLASS, help_line, keyboard_support, png_file_name, save_button_clicked, save_png
from .runner import (Choice, Runner, announce_static, error_text, figure_png, png_bundle, resolve_interactive,
                     watch_forward_passes)
from ..interpret import TextClassifierInterpreter, render_tokens_html
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
#: The text figure's width and side margins, in inches (the token rows fill the width between the margins).
FIGURE_WIDTH, MARGIN = 10.0, 0.3
#: LIG steps x tokens per forward pass. A pass's activations grow with both (attention with tokens squared), so
#: a sentence of up to 20 tokens runs its 50 steps in one pass and longer ones in more, smaller passes: a
#: 130-token text peaks at ~0.3 GB above the kernel's base instead of ~1.1 GB.
TOKEN_STEPS_PER_PASS: int = 1000


def token_notes(tokens, missing):
    """The notes under the text figure's tokens: tokens the tokenizer did not know, characters no font draws."""
    notes = []
    unknown = sum(t == "[UNK]" for t in tokens)
    if unknown:
        notes.append(f"[UNK]: {unknown} token(s) the tokenizer does not know; the model sees each of them as the "
                     "same 'unknown' token, whatever was written.")
    if missing:
        codes = ", ".join(f"U+{ord(c):04X}" for c in missing[:8]) + (", …" if len(missing) > 8 else "")
        notes.append(f"No installed font can draw {codes}: shown as code points (install a CJK font such as Noto Sans "
                     "CJK to see them).")
    return notes


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
        asked, interactive = interactive, resolve_interactive(interactive)
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
        elif asked is None:
            announce_static(self, "explore_text")

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

        The tokens wrap onto as many rows as the sentence needs (``viz.tokens``: widths measured in the font),
        under a title with the prediction and the scores the attributions explain; a labelled colourbar says
        what red and blue mean; notes say which tokens the tokenizer did not know ([UNK]) and which characters
        no installed font can draw (shown as code points). The attention matrix of the same sentence follows.

        Args:
            view: A view from ``compute``; ``None`` means the newest drawn view (``.view``).

        Returns:
            The figure: the tokens coloured by their attribution on top, the attention matrix below.

        Example:
            >>> import xai_helpers as xh
            >>> fig = xh.explore_text("A wonderful film.", interactive=False).figure()
            >>> fig.axes[2].get_title()
            'attention, layer 5, mean over heads (rows: queries)'
        """
        view = check_view(view, self.view, TEXT_VIEW_KEYS)
        result = view["result"]
        layout = layout_tokens(result.tokens, width=FIGURE_WIDTH - 2 * MARGIN)
        heading = textwrap.wrap(result.title(), 120)
        notes = token_notes(result.tokens, layout.missing)
        n = len(view["attention"][0]) if view["attention"] is not None else 0
        side = float(min(max(0.28 * n + 3, 4.5), (FIGURE_WIDTH - 1.6) / 1.18)) if n else 0.6
        inches = [0.25 * len(heading) + 0.15, layout.height, 0.6, 0.22 * len(notes) + 0.5, side, 1.2]
        height = sum(inches)
        fig = Figure(figsize=(FIGURE_WIDTH, height))
        top = height - inches[0]

        def box(left, bottom, width, tall):
            return (left / FIGURE_WIDTH, bottom / height, width / FIGURE_WIDTH, tall / height)
        ax_tokens = fig.add_axes(box(MARGIN, top - layout.height, layout.width, layout.height))
        draw_tokens(layout, result.attributions, ax_tokens)
        ax_tokens.set_title("\n".join(heading), fontsize=9)
        scale = float(abs(result.attributions).max()) or 1.0
        bar = fig.add_axes(box(FIGURE_WIDTH / 2 - 2.2, top - layout.height - 0.2, 4.4, 0.12))
        what = "margin" if result.quantity == "margin" else "logit"
        fig.colorbar(ScalarMappable(norm=Normalize(-scale, scale), cmap=SIGNED_CMAP), cax=bar, orientation="horizontal",
                     label=f"attribution to the {what} of '{result.target_label}':  ← against · for →")
        bar.tick_params(labelsize=8)
        below = top - layout.height - inches[2]
        for i, note in enumerate(notes):
            fig.text(0.5, (below - 0.1 - 0.22 * i) / height, note, ha="center", va="top", fontsize=9, color="#8a4b00")
        bottom = below - inches[3] - side
        ax_attention = fig.add_axes(box(1.4, bottom, side * 1.18, side))   # the matrix and its colourbar
        if view["attention"] is None:
            ax_attention.axis("off")
            ax_attention.set_title("no attention view: the classifier is not the course's MiniLM", fontsize=9)
        else:
            tokens, matrix, layer = view["attention"]
            shown = layout_tokens(tokens, width=FIGURE_WIDTH)
            plot_attention(matrix, shown.texts, ax=ax_attention,
                           title=f"attention, layer {layer}, mean over heads (rows: queries)")
            for label in ax_attention.get_xticklabels() + ax_attention.get_yticklabels():
                label.set_fontfamily(shown.families)
        return fig

    @checked
    def save_png(self, folder: str | Path | None = None) -> Path:
        """Write the newest drawn figure (``.png``) to a file named after the sentence's first words.

        The name is ``explorer-<first words>-lig.png``; an existing file is never overwritten (the next free
        ``-2``, ``-3``, ... is taken). The Save PNG button calls this.

        Args:
            folder: The folder to write to; ``None`` means the current working directory (in a notebook: the
                notebook's folder).

        Returns:
            The absolute path of the file written.

        Raises:
            FileNotFoundError: ``folder`` does not exist.

        Example:
            >>> import tempfile
            >>> import xai_helpers as xh
            >>> explorer = xh.explore_text("A wonderful film.", interactive=False)
            >>> explorer.save_png(tempfile.mkdtemp()).name
            'explorer-a-wonderful-film-lig.png'
        """
        words = "-".join(self.view["result"].text.lower().split()[:5])
        return save_png(self.png, png_file_name(words.replace(".", ""), "lig"), folder)

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


#: One line of help per control of the text explorer: its tooltip, and (after its description) its help line.
TEXT_HELP = {
    "text": "type any sentence, then press Enter or Explain.",
    "explain": "compute the attributions of the sentence typed (again, if it has not changed).",
    "target": "whose margin the attributions explain (the predicted class, or the other one).",
    "layer": "the encoder layer whose attention is drawn (0 is the first, as in lesson 4.4a; the last is what the classifier reads).",
    "save": "write the figure shown to a file in the notebook's folder, named after the sentence.",
}


class _TextWidgets:
    def __init__(self, explorer):
        import ipywidgets as W
        self.explorer = explorer
        explorer.ui = self
        n_layers = explorer.text_model.num_layers if explorer.text_model is not None else 1
        self.text = W.Text(value=explorer.settings["text"], description="Sentence", continuous_update=False,
                           tooltip=TEXT_HELP["text"], layout=W.Layout(width="70%"))
        self.explain = W.Button(description="Explain", button_style="primary", tooltip=TEXT_HELP["explain"])
        self.target = W.Dropdown(description="Class", tooltip=TEXT_HELP["target"],
                                 options=[("predicted class", "predicted")]
                                 + [(label, i) for i, label in enumerate(explorer.classifier.labels)])
        self.layer = W.IntSlider(description="Layer", min=0, max=n_layers - 1, value=n_layers - 1, continuous_update=False,
                                 tooltip=TEXT_HELP["layer"])
        self.save = W.Button(description="Save PNG", icon="download", tooltip=TEXT_HELP["save"])
        self.status, self.tokens, self.saved, self.image = W.HTML(), W.HTML(), W.HTML(), W.Image(format="png")
        def helped(*controls):
            line = " · ".join(f"{c.description}: {c.tooltip}" for c in controls)
            return [W.HBox(list(controls)), help_line(W, line)]
        self.box = W.VBox([*helped(self.text, self.explain), *helped(self.target, self.layer), self.status, self.tokens,
                           self.image, W.HBox([self.save, self.saved]), keyboard_support(W)])
        self.box.add_class(ROOT_CLASS)
        for widget, key, convert in ((self.text, "text", str), (self.target, "target", lambda v: None if v == "predicted" else v),
                                     (self.layer, "layer", lambda v: int(v))):
            widget.observe(self._observer(key, convert), "value")
        self.explain.on_click(lambda _button: self._explain())
        self.save.on_click(lambda _button: self._saved())
        self.show_view(explorer.view)

    def _observer(self, key, convert):
        def observer(change):
            try:
                self.explorer.update(**{key: convert(change["new"])})
            except Exception as err:  # a message in the widget, never a traceback
                self.show_error(err)
        return observer

    def _explain(self):
        """The Explain button: the sentence typed, computed again (leaving the text box for the button may already
        have sent it: this newer choice supersedes that one, which stops at its next forward pass)."""
        try:
            self.explorer.update(text=self.text.value)
        except Exception as err:  # a message in the widget, never a traceback
            self.show_error(err)

    def _saved(self):
        save_button_clicked(self)

    def busy(self):
        self.status.value = "<span style='color:#555'>computing …</span>"

    def show_view(self, view):
        self._drawn = getattr(self, "_drawn", 0) + 1
        self.tokens.value = self.explorer.tokens_html(view)
        self.image.value = self.explorer.png
        self.status.value = f"Ready (explanation {self._drawn})"   # changes even when the sentence does not

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
