"""Every public name of the covered modules is documented: type hints, Args/Returns and an example that runs.

A public name is one in a covered module's ``__all__``; for a class also its public methods and properties (its
own and those it inherits from the package's classes, e.g. ``ImageModel.predict`` from ``Wrapper``). What each
needs:

* a function or method: a type hint on every parameter and on the return; an ``Args:`` section naming every
  parameter (when it has any); a ``Returns:`` section unless it returns ``None``; an ``Example:`` with ``>>>``;
* a class: an ``Example:``; when the package defines its ``__init__`` (explicitly or as a dataclass), hints on
  it and an ``Args:`` section in the class docstring naming every argument;
* a property: a return hint and a docstring;
* a constant: a module-level annotation (``CAM_CMAP: str = ...``) with a ``#:`` comment on the line above.

Every example runs as a doctest with fresh globals (so it works as written in a notebook), ELLIPSIS and
NORMALIZE_WHITESPACE; a failure shows doctest's report.

The covered modules grow to the whole package: add a module to ``COVERED`` and its ``__all__`` is checked.
A name that a covered module re-exports but that is defined in a module not (yet) covered -- ``xh.grad_cam``
from ``methods`` -- is checked when its own module is added.
"""
import ast
import doctest
import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")  # the plotting examples draw off screen
import matplotlib.pyplot as plt  # noqa: E402

from xai_helpers import _memory  # noqa: E402

pytestmark = pytest.mark.loads_pretrained   # the loaders' examples load the offline default models

PACKAGE = "xai_helpers"
#: The modules whose ``__all__`` is checked; a subpackage covers the modules inside it.
COVERED = ["xai_helpers", "xai_helpers.models", "xai_helpers.viz", "xai_helpers.data", "xai_helpers.device",
           "xai_helpers.digits", "xai_helpers.check", "xai_helpers.explore", "xai_helpers.interpret",
           "xai_helpers.evaluation", "xai_helpers.evaluation.groundtruth", "xai_helpers.methods"]
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
SECTIONS = ("Args", "Returns", "Raises", "Example")


@dataclass(frozen=True, order=True)
class Entry:
    """One checked public thing: ``name`` is where it is defined (``module.Class.method``)."""
    name: str
    kind: str          # "function", "class", "method", "property" or "constant"
    obj: object = None
    module: str = ""


# --- what is covered --------------------------------------------------------------------------------
def is_covered(module_name, covered=COVERED):
    """Whether names defined in ``module_name`` are checked: it is a covered module or inside a covered
    subpackage. The package itself covers only what its ``__init__`` defines (its subpackages are listed
    one by one)."""
    return any(module_name == c or (c != PACKAGE and module_name.startswith(c + ".")) for c in covered)


def defining_module(module_name, name):
    """The module whose source assigns ``name`` (constants carry no ``__module__``): follows ``from . import``."""
    module = importlib.import_module(module_name)
    for node in ast.parse(Path(module.__file__).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == name for a in node.names):
            source = importlib.util.resolve_name("." * node.level + (node.module or ""), module.__package__)
            return defining_module(source, next(a.name for a in node.names if (a.asname or a.name) == name))
        if name in _assigned_names(node):
            return module_name
    raise LookupError(f"{module_name}.__all__ names {name!r}, which its source neither assigns nor imports.")


def _assigned_names(node):
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def public_members(cls):
    """Entries for the public methods and properties of ``cls`` that a covered module of the package defines."""
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        owner = next(k for k in cls.__mro__ if name in vars(k))
        if not is_covered(owner.__module__):
            continue   # torch.nn.Module, tuple, IPython's HTML, ...: not ours
        attr = vars(owner)[name]
        qualified = f"{owner.__module__}.{owner.__qualname__}.{name}"
        if isinstance(attr, property):
            yield Entry(qualified, "property", attr.fget, owner.__module__)
        elif isinstance(attr, (staticmethod, classmethod)):
            yield Entry(qualified, "method", attr.__func__, owner.__module__)
        elif inspect.isfunction(attr):
            yield Entry(qualified, "method", attr, owner.__module__)


def public_entries(covered=COVERED):
    """Every checked entry of the covered modules, once each, sorted by name."""
    entries = set()
    for module_name in covered:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.ismodule(obj):
                continue   # a subpackage (``xh.check``) is checked through its own ``__all__``
            if inspect.isclass(obj) or inspect.isfunction(obj):
                if is_covered(obj.__module__):
                    kind = "class" if inspect.isclass(obj) else "function"
                    entries.add(Entry(f"{obj.__module__}.{obj.__qualname__}", kind, obj, obj.__module__))
                    if kind == "class":
                        entries.update(public_members(obj))
            else:
                home = defining_module(module_name, name)
                if is_covered(home):
                    entries.add(Entry(f"{home}.{name}", "constant", None, home))
    return sorted(entries)


# --- the checks ---------------------------------------------------------------------------------------
def sections(doc):
    """Section title -> its text, for the Google-style sections of a docstring."""
    found, current = {}, None
    for line in inspect.cleandoc(doc or "").splitlines():
        title = line.strip()[:-1]
        if line == line.lstrip() and line.endswith(":") and title in SECTIONS:
            current = title
            found[current] = ""
        elif current is not None:
            found[current] += line + "\n"
    return found


def _parameters(func):
    return [p for p in inspect.signature(func).parameters.values() if p.name not in ("self", "cls")]


def _star(p):
    return {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")


def hint_problems(func):
    """The parameters (and ``return``) of ``func`` without a type hint."""
    sig = inspect.signature(func)
    missing = [f"no type hint on {p.name!r}" for p in _parameters(func) if p.annotation is p.empty]
    return missing + (["no return type hint"] if sig.return_annotation is sig.empty else [])


def args_problems(doc, params):
    """What the ``Args:`` section of ``doc`` lacks for ``params``."""
    if not params:
        return []
    text = sections(doc).get("Args")
    if text is None:
        return ["no Args: section"]
    described = {line.strip().split(":")[0].split(" (")[0] for line in text.splitlines()
                 if line.startswith("    ") and not line.startswith("     ") and ":" in line}
    return [f"Args: does not describe {_star(p) + p.name!r}" for p in params if _star(p) + p.name not in described]


def example_problems(doc):
    return [] if ">>>" in sections(doc).get("Example", "") else ["no Example: section with >>> lines"]


def function_problems(func):
    """Everything a public function or method lacks (empty: documented)."""
    doc = inspect.getdoc(func)
    if not doc:
        return ["no docstring"]
    returns_none = inspect.signature(func).return_annotation in (None, "None")
    missing_returns = [] if returns_none or "Returns" in sections(doc) else ["no Returns: section"]
    return hint_problems(func) + args_problems(doc, _parameters(func)) + missing_returns + example_problems(doc)


def class_problems(cls):
    """Everything a public class lacks: an example, and hints and Args for the ``__init__`` the package defines."""
    doc = inspect.getdoc(cls)
    if not doc:
        return ["no docstring"]
    init_owner = next(k for k in cls.__mro__ if "__init__" in vars(k))
    problems = example_problems(doc)
    if init_owner is cls or is_covered(init_owner.__module__):
        problems += [f"__init__: {p}" for p in hint_problems(cls.__init__)]
        problems += args_problems(doc, _parameters(cls.__init__))
    return problems


def property_problems(fget):
    missing = [] if inspect.getdoc(fget) else ["no docstring"]
    return missing + ([] if "return" in fget.__annotations__ else ["no return type hint"])


def constant_problems(source, name):
    """What the module-level assignment of ``name`` in ``source`` lacks: an annotation, a ``#:`` comment above."""
    lines = source.splitlines()
    for node in ast.parse(source).body:
        if name in _assigned_names(node):
            if not isinstance(node, ast.AnnAssign):
                return [f"{name} has no annotation (write {name}: <type> = ...)"]
            above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
            return [] if above.startswith("#:") else [f"no '#:' comment on the line above {name}"]
    return [f"{name} is not assigned at module level"]


def problems(entry):
    if entry.kind == "constant":
        module = importlib.import_module(entry.module)
        return constant_problems(Path(module.__file__).read_text(encoding="utf-8"), entry.name.rpartition(".")[2])
    if entry.kind == "property":
        return property_problems(entry.obj)
    return class_problems(entry.obj) if entry.kind == "class" else function_problems(entry.obj)


def run_examples(obj, name, globs=None):
    """Run the ``>>>`` examples of ``obj`` (or of a docstring given as a str) -> (examples tried, failures, report)."""
    finder = doctest.DocTestFinder(recurse=False)
    module = inspect.getmodule(obj) if not isinstance(obj, str) else None
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report = []
    for test in finder.find(obj, name, module=module or False, globs=dict(globs or {})):
        runner.run(test, out=report.append)
    return runner.tries, runner.failures, "".join(report)


ENTRIES = public_entries()


@pytest.fixture(autouse=True)
def _earlier_objects_frozen():
    """The examples' explorers and interpreters collect garbage after each map or redraw: inside
    ``_memory.releasing`` what existed before the test (the imported modules, the loaded models) stays frozen,
    so each collection scans only what the example made."""
    with _memory.releasing():
        yield


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_public_name_is_documented(entry):
    assert problems(entry) == [], f"{entry.name} ({entry.kind})"


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.kind in ("function", "class", "method")],
                         ids=lambda e: e.name)
def test_example_runs(entry):
    tries, failures, report = run_examples(entry.obj, entry.name)
    assert tries > 0, f"{entry.name} has no example to run"
    assert failures == 0, report


def test_collection_covers_every_subpackage_and_nothing_outside_the_package():
    names = {e.name for e in ENTRIES}
    assert {"xai_helpers.models.prediction.Prediction", "xai_helpers.models.image.ImageModel.preprocess",
            "xai_helpers.models.prediction.Wrapper.predict", "xai_helpers.viz.plotting.CAM_CMAP",
            "xai_helpers.models.text.TextModel.num_heads", "xai_helpers.data.load_image"} <= names
    for package in ("methods", "evaluation", "interpret", "explore", "check", "viz", "models"):
        assert any(n.startswith(f"xai_helpers.{package}.") for n in names), package
    assert is_covered("xai_helpers.models.image") and is_covered("xai_helpers")
    assert is_covered("xai_helpers.interpret.explainers") and not is_covered("torch.nn.modules.module")


# --- the checks can fail ------------------------------------------------------------------------------
def _undocumented(x, y=1):
    """Add ``y`` to ``x``."""
    return x + y


def _documented(x: int, *values: int, y: int = 1) -> int:
    """Add ``y`` and ``values`` to ``x``.

    Args:
        x: A number.
        *values: More numbers.
        y: What to add (default 1).

    Returns:
        The sum.

    Example:
        >>> _documented(1, 2)
        4
    """
    return x + sum(values) + y


class _Toy:
    """A toy.

    Example:
        >>> 1
        1
    """

    def __init__(self, size):
        self.size = size


def test_the_checks_report_what_is_missing():
    assert function_problems(_undocumented) == [
        "no type hint on 'x'", "no type hint on 'y'", "no return type hint", "no Args: section",
        "no Returns: section", "no Example: section with >>> lines"]
    assert function_problems(_documented) == []
    partly = _documented.__doc__.replace("        *values: More numbers.\n", "")
    assert args_problems(partly, _parameters(_documented)) == ["Args: does not describe '*values'"]
    assert class_problems(_Toy) == ["__init__: no type hint on 'size'", "__init__: no return type hint",
                                    "no Args: section"]
    assert constant_problems("LIMIT = 3\n", "LIMIT") == ["LIMIT has no annotation (write LIMIT: <type> = ...)"]
    assert constant_problems("LIMIT: int = 3\n", "LIMIT") == ["no '#:' comment on the line above LIMIT"]
    assert constant_problems("#: The most there may be.\nLIMIT: int = 3\n", "LIMIT") == []


def test_a_wrong_example_fails_with_the_doctest_report():
    assert run_examples(_documented, "_documented", globs={"_documented": _documented})[:2] == (1, 0)
    tries, failures, report = run_examples(_documented.__doc__.replace("        4\n", "        5\n"), "_documented",
                                           globs={"_documented": _documented})
    assert (tries, failures) == (1, 1)
    assert "Expected:\n    5\nGot:\n    4" in report
    assert run_examples(_undocumented, "_undocumented")[0] == 0
