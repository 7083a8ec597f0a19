"""Widget pieces both explorers share: keyboard use inside JupyterLab, labels for screen readers, help lines,
and saving the current figure.

* **Keys stay in the explorer.** JupyterLab binds single keys in a notebook's command mode (ArrowUp/Down move
  between cells, A/B insert cells, X cuts one, D D deletes it) to any focused element of the notebook that is not
  an editable text field, and a dropdown, a slider handle or a button is none: ArrowDown on the method menu
  would select the next cell instead of the next method. Lumino (JupyterLab's widget toolkit) skips its
  shortcuts for a key pressed on an element with the attribute ``data-lm-suppress-shortcuts`` (it walks up from
  the focused element and stops there; a focused element matches the notebook's ``:focus`` selectors itself, so
  the attribute must sit on each control, not only on a box around them). ipywidgets cannot set attributes, so
  an invisible ``Output`` widget inside the explorer holds a few lines of JavaScript that set it on every
  control of the explorer's box (class ``xai-explorer``), also on controls drawn later, when the front end
  renders them. The same lines
  give each slider's handle and typed-in readout an ``aria-label`` (ipywidgets writes a slider's description as
  a ``<label>`` that names no control) and make Escape hand the focus back to the notebook cell. Front ends
  without Lumino's shortcuts (Colab, VS Code) ignore the attribute.
* **Saving.** ``save_png`` writes PNG bytes to a free file name made from the photo or sentence and the method
  (``explorer-cat-grad_cam.png``, then ``-2``, ...); ``saved_html`` says where, with a download link that carries
  the PNG itself (a ``data:`` address), for a kernel whose files the browser cannot open.
"""
import base64
import html
import re
from pathlib import Path

from .._typecheck import checked

__all__ = ["ROOT_CLASS", "KEYBOARD_SCRIPT", "keyboard_support", "help_line", "png_file_name", "save_png",
           "saved_html", "save_button_clicked"]

#: The CSS class of an explorer's outer box (the script below finds the box by it).
ROOT_CLASS = "xai-explorer"

#: Run by the front end inside the explorer (``element`` is the output's node in JupyterLab and Notebook 7).
KEYBOARD_SCRIPT = """
(function setUp(node, tries) {
  const root = node && node.closest ? node.closest('.xai-explorer') : null;
  if (!root) {   /* the output is rendered before it is attached to the explorer's box: look again soon */
    if (node && tries < 200) { setTimeout(() => setUp(node, tries + 1), 50); }
    return;
  }
  if (root.dataset.xaiKeyboard) { return; }
  root.dataset.xaiKeyboard = 'on';
  const label = () => {
    /* Lumino stops looking for a shortcut at an element with this attribute, starting with the focused one */
    [root, ...root.querySelectorAll('select, input, textarea, button, [tabindex]')].forEach((control) => {
      if (!control.hasAttribute('data-lm-suppress-shortcuts')) {
        control.setAttribute('data-lm-suppress-shortcuts', 'true');
        control.setAttribute('data-p-suppress-shortcuts', 'true');
      }
    });
    root.querySelectorAll('.widget-slider').forEach((slider) => {
      const label = slider.querySelector('.widget-label') || {};
      const name = label.textContent || '';
      const text = label.title ? name + ': ' + label.title : name;
      slider.querySelectorAll('.noUi-handle').forEach((handle) => {
        if (handle.getAttribute('aria-label') !== text) { handle.setAttribute('aria-label', text); }
      });
      slider.querySelectorAll('.widget-readout').forEach((readout) => {
        const typed = name + ' (type a value, then Enter)';
        if (readout.getAttribute('aria-label') !== typed) { readout.setAttribute('aria-label', typed); }
      });
    });
  };
  label();
  new MutationObserver(label).observe(root, {childList: true, subtree: true});
  root.addEventListener('keydown', (event) => {
    const cell = root.closest('.jp-Cell');
    if (event.key === 'Escape' && cell) { event.preventDefault(); cell.focus(); }
  });
})(typeof element !== 'undefined' ? element : null, 0);
"""


def keyboard_support(W):
    """An invisible ``Output`` widget that carries ``KEYBOARD_SCRIPT``; put it inside a box of class ``ROOT_CLASS``.

    The output is set directly (``append_display_data`` would create an IPython shell where there is none)."""
    out = W.Output(layout=W.Layout(height="0px", overflow="hidden", margin="0", padding="0"))
    out.outputs = ({"output_type": "display_data", "metadata": {},
                    "data": {"application/javascript": KEYBOARD_SCRIPT, "text/plain": ""}},)
    return out


def help_line(W, text):
    """A small grey line of help under a row of controls (``text`` is escaped)."""
    return W.HTML(f"<div style='font-size:85%;color:#555;line-height:1.3;margin:0 0 4px 8px'>"
                  f"{html.escape(text)}</div>")


@checked
def png_file_name(*parts: str) -> str:
    """A file name ``explorer-<parts>.png`` from words such as the photo's name and the method (safe characters
    only: letters, digits, ``-``, ``_``; a file extension in a part is dropped).

    Args:
        *parts: The words, e.g. ``"my holiday photo.webp"`` and ``"grad_cam"``.

    Returns:
        The file name.

    Example:
        >>> from xai_helpers.explore.controls import png_file_name
        >>> png_file_name("my holiday photo.webp", "grad_cam")
        'explorer-my-holiday-photo-grad_cam.png'
    """
    words = [re.sub(r"[^A-Za-z0-9_]+", "-", Path(p).stem if "." in p else p).strip("-") for p in parts]
    return "explorer-" + "-".join(w[:40] for w in words if w) + ".png"


@checked
def save_png(png: bytes, name: str, folder: str | Path | None = None) -> Path:
    """Write ``png`` to ``folder/name``, or to ``name-2.png``, ``name-3.png``, ... when that file exists.

    Args:
        png: The PNG bytes.
        name: The file name (``png_file_name``).
        folder: The folder; ``None`` means the current working directory (a notebook's kernel: the notebook's
            folder).

    Returns:
        The absolute path written.

    Raises:
        ValueError: ``png`` is not a PNG image.
        FileNotFoundError: ``folder`` does not exist.

    Example:
        >>> import tempfile
        >>> from xai_helpers.explore.controls import save_png
        >>> folder = tempfile.mkdtemp()
        >>> [save_png(b"\\x89PNG\\r\\n\\x1a\\n", "explorer-cat.png", folder).name for _ in range(2)]
        ['explorer-cat.png', 'explorer-cat-2.png']
    """
    if not png.startswith(b"\x89PNG"):
        raise ValueError("png must be the bytes of a PNG image (e.g. explorer.png).")
    base = Path.cwd() if folder is None else Path(folder)
    if not base.is_dir():
        raise FileNotFoundError(f"folder {str(base)!r} does not exist; pass an existing folder or None (the "
                                "current one).")
    path, stem, n = base / name, Path(name).stem, 1
    while path.exists():
        n += 1
        path = base / f"{stem}-{n}.png"
    path.write_bytes(png)
    return path.resolve()


def saved_html(path, png):
    """'Saved <path>' and a download link carrying the PNG, as HTML (every piece escaped)."""
    data = base64.b64encode(png).decode("ascii")
    return (f"<span>Saved <code>{html.escape(str(path))}</code> · <a download='{html.escape(path.name)}' "
            f"href='data:image/png;base64,{data}'>download it</a></span>")


def save_button_clicked(widgets):
    """Either explorer's Save PNG button: write the newest figure and show where, or show why it could not.

    ``widgets`` has ``explorer`` (with ``save_png()`` and ``png``), the HTML widget ``saved`` and ``show_error``.
    """
    try:
        path = widgets.explorer.save_png()
    except OSError as err:
        widgets.show_error(err)
        return
    widgets.saved.value = saved_html(path, widgets.explorer.png)
