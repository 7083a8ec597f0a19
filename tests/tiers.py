"""The test tiers: which of unit / integration / system a test belongs to, by rule (used by conftest.py).

Every collected test gets exactly one tier, so a new test file needs no marker:

* an explicit ``@pytest.mark.unit`` / ``integration`` / ``system`` on the test (or its module) wins;
* ``system``: a notebook cell (nbval), or a test whose code starts processes or leaves the Python process
  -- ``subprocess``, a browser (playwright, Chromium), a network namespace or sockets (``unshare``,
  ``offline.sh``, ``socket.``), a virtual environment, a notebook kernel (nbclient, nbconvert, build_html);
* ``integration``: a test that loads or trains a network (a call of ``load_*model*`` / ``*cnn*`` /
  ``*classifier*`` / ``*vit*`` / ``*case*`` such as ``load_image_model``, ``load_text_classifier``,
  ``load_digit_cnn``; ``from_pretrained``; ``train_*``);
* ``unit``: everything else (small hand-built networks, arrays, files, static scans).

"The test's code" is its own source, the source of every fixture it uses (transitively, pytest's closure),
and the module-level functions and constants those name (transitively): a helper ``_load()`` that calls
``load_image_model`` makes its callers integration tests.
"""
import ast
import functools
import inspect
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIERS = ("unit", "integration", "system")
SYSTEM_CODE = re.compile(
    r"\bsubprocess\.(run|Popen|call|check_call|check_output)\s*\(|\bPopen\(|playwright\.|sync_playwright|chromium"
    r"|\bunshare\b|offline\.sh|\bsocket\.|venv\.create|EnvBuilder|ensurepip"
    r"|NotebookClient|ExecutePreprocessor|nbconvert|build_html", re.IGNORECASE)
INTEGRATION_CODE = re.compile(   # a loader of a trained network (load_image_model, load_digit_cnn, ...) or training
    r"\b(_?load_\w*(model|cnn|classifier|net|vit|case)\w*|from_pretrained|train_\w+)\s*\(|\b_load_(cached|fresh)\b")


def tier_of(item):
    """The tier the rules above give ``item`` (a pytest item)."""
    if getattr(item, "function", None) is None:          # nbval notebook cells and other non-Python items
        return "system"
    code = _code_of(item)
    if SYSTEM_CODE.search(code):
        return "system"
    if INTEGRATION_CODE.search(code):
        return "integration"
    return "unit"


def _code_of(item):
    sources = [_source(item.function)]
    for defs in getattr(item, "_fixtureinfo").name2fixturedefs.values():
        func = defs[-1].func
        if _in_repo(func):
            sources.append(_source(func))
    module = inspect.getmodule(item.function)
    return "\n".join(sources + _referenced_definitions(module, "\n".join(sources)))


def _referenced_definitions(module, code):
    """Source of the module-level functions, classes and constants named in ``code``, transitively."""
    definitions = _module_definitions(module)
    seen, todo, out = set(), set(re.findall(r"\w+", code)), []
    while todo:
        name = todo.pop()
        if name in seen or name not in definitions:
            continue
        seen.add(name)
        out.append(definitions[name])
        todo |= set(re.findall(r"\w+", definitions[name]))
    return out


@functools.lru_cache(maxsize=None)
def _module_definitions(module):
    try:
        text = inspect.getsource(module)
    except (OSError, TypeError):
        return {}
    found = {}
    for node in ast.parse(text).body:
        names = ([node.name] if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else
                 [t.id for t in getattr(node, "targets", [getattr(node, "target", None)]) if isinstance(t, ast.Name)])
        for name in names:
            found[name] = ast.get_source_segment(text, node) or ""
    return found


def _source(func):
    try:
        return inspect.getsource(func)
    except (OSError, TypeError):
        return ""


def _in_repo(func):
    try:
        path = Path(inspect.getsourcefile(func)).resolve()
    except TypeError:
        return False
    return ROOT in path.parents and ".venv" not in path.parts
