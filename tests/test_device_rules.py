"""Device rules (issue #13.5), enforced by a static scan of every lesson/exercise/solution code cell and the package.

The course runs on CPU, CUDA and Apple MPS, where three things that work on a CPU fail:

1. ``.numpy()`` on a tensor that may live on the model's device (CUDA/MPS raise). Allowed: a chain that
   passes ``.cpu()`` (or ``.to("cpu")``) first, or a tensor made on the CPU right there (``torch.tensor``,
   ``torch.from_numpy``, ``torch.zeros`` ... without ``device=``), or a name only ever assigned such a
   tensor. Everything else: use ``xh.to_numpy(t)`` or ``t.detach().cpu().numpy()``.
2. float64 on the model's device (Apple MPS has no float64): a factory with ``dtype=torch.float64`` (or
   ``torch.double``) and a ``device=`` other than "cpu"; ``.double()`` / ``.to(torch.float64)`` on a tensor
   not known to be on the CPU.
3. A CPU constant mixed with a device tensor (CUDA raises for a CPU tensor with dimensions): arithmetic
   between a tensor made on the CPU (a factory without ``device=``, not a 0-d scalar) and anything that may
   be a device tensor. Write ``torch.tensor(c, device=x.device)``.

It is a heuristic: it reads code, not values. A line that is right anyway (the tensor is on the CPU for a
reason the scan cannot see) carries ``# device-ok: <why>`` and is skipped. Cells are numbered from 0, as
in the course review; magics (``%``, ``!``) are ignored.
"""
import ast
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
PRAGMA = "# device-ok"
FACTORIES = {"tensor", "as_tensor", "from_numpy", "arange", "linspace", "logspace", "zeros", "ones", "full",
             "empty", "eye", "rand", "randn", "randint", "randperm"}
FLOAT64 = {"float64", "double"}
ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.MatMult, ast.Pow, ast.Mod)


# ---------------------------------------------------------------------------------- what the code says
def _links(node):
    """The method/attribute chain of an expression, outermost first, ending at its base."""
    out = []
    while True:
        out.append(node)
        if _factory(node) is not None:
            return out
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            node = node.func.value
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        else:
            return out


def _method(node):
    return node.func.attr if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) else None


def _factory(node):
    """'zeros' for ``torch.zeros(...)`` etc., else None."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in FACTORIES
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch"):
        return node.func.attr
    return None


def _kw(call, name):
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_cpu_literal(node):
    if isinstance(node, ast.Constant) and node.value == "cpu":
        return True
    return isinstance(node, ast.Call) and _method(node) == "device" and node.args and _is_cpu_literal(node.args[0])


def _to_cpu(link):
    """``.cpu()`` or ``.to("cpu")`` / ``.to(device="cpu")``."""
    m = _method(link)
    return m == "cpu" or (m == "to" and (any(_is_cpu_literal(a) for a in link.args) or _is_cpu_literal(_kw(link, "device"))))


def _moves(link):
    return _method(link) in ("to", "cuda", "mps") and not _to_cpu(link)


def _numeric(node):
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float, complex))
    return isinstance(node, ast.UnaryOp) and _numeric(node.operand)


def on_cpu(node, cpu_names):
    """True when the expression is surely a CPU tensor (or a number)."""
    if _numeric(node):
        return True
    if isinstance(node, ast.BinOp):
        return on_cpu(node.left, cpu_names) and on_cpu(node.right, cpu_names)
    links = _links(node)
    for link in links:           # outermost first: the latest move decides
        if _to_cpu(link):
            return True
        if _moves(link):
            return False
    base = links[-1]
    if _factory(base):
        device = _kw(base, "device")
        return device is None or _is_cpu_literal(device)
    return isinstance(base, ast.Name) and base.id in cpu_names


def made_on_cpu(node, cpu_names):
    """A tensor with dimensions made on the CPU here (not a number, not a 0-d ``torch.tensor(2.0)``)."""
    if _numeric(node) or not on_cpu(node, cpu_names):
        return False
    if isinstance(node, ast.BinOp):
        return made_on_cpu(node.left, cpu_names) or made_on_cpu(node.right, cpu_names)
    base = _links(node)[-1]
    if _factory(base) in ("tensor", "as_tensor") and base.args and _numeric(base.args[0]):
        return False
    return _factory(base) is not None or isinstance(base, ast.Name)


def _maybe_device_tensor(node, cpu_names):
    if _numeric(node) or on_cpu(node, cpu_names) or isinstance(node, (ast.List, ast.Tuple, ast.Constant)):
        return False
    base = _links(node)[-1] if not isinstance(node, ast.BinOp) else None
    return not (isinstance(base, ast.Name) and base.id in ("np", "math", "numpy"))


def cpu_only_names(tree):
    """Names whose every plain assignment in ``tree`` is a tensor made on the CPU (to a fixed point)."""
    assigned = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.With, ast.NamedExpr)):
            target = getattr(node, "target", None)
            if isinstance(target, ast.Name):
                assigned.setdefault(target.id, []).append(None)   # unknown value
    names = set()
    while True:
        new = {n for n, values in assigned.items() if all(v is not None and on_cpu(v, names) for v in values)}
        if new == names:
            return names
        names = new


# -------------------------------------------------------------------------------------------- the rules
def rule_numpy(tree, cpu_names):
    for node in ast.walk(tree):
        if _method(node) == "numpy" and not node.args and not on_cpu(node.func.value, cpu_names):
            yield node, "`.numpy()` on a tensor that may be on the model's device: use xh.to_numpy(t) or .cpu() first"


def rule_float64(tree, cpu_names):
    for node in ast.walk(tree):
        dtype = _kw(node, "dtype") if isinstance(node, ast.Call) else None
        f64 = isinstance(dtype, ast.Attribute) and dtype.attr in FLOAT64
        if _factory(node) and f64 and _kw(node, "device") is not None and not _is_cpu_literal(_kw(node, "device")):
            yield node, "float64 tensor created on a device (Apple MPS has none)"
        m = _method(node)
        to_f64 = m == "to" and (f64 or any(isinstance(a, ast.Attribute) and a.attr in FLOAT64 for a in node.args))
        if (m == "double" or to_f64) and not _to_cpu(node) and not on_cpu(node.func.value, cpu_names):
            yield node, f"`.{m}(...float64)` on a tensor that may be on the model's device (Apple MPS has no float64)"


def rule_mixing(tree, cpu_names):
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ARITHMETIC):
            pairs = ((node.left, node.right), (node.right, node.left))
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ARITHMETIC):
            pairs = ((node.value, node.target),)
        else:
            continue
        if any(made_on_cpu(a, cpu_names) and _maybe_device_tensor(b, cpu_names) for a, b in pairs):
            yield node, "a tensor made on the CPU mixed with one that may be on the model's device: pass device="


RULES = {"numpy": rule_numpy, "float64": rule_float64, "cpu-constant": rule_mixing}


# ------------------------------------------------------------------------------------------ what we scan
def _strip_magics(source):
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines())


def code_units():
    """(label, source) for every notebook code cell and package module."""
    units = []
    for folder in ("notebooks", "solutions", "exercises"):
        for path in sorted((ROOT / folder).rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts:
                continue
            nb = nbformat.read(path, as_version=4)
            cells = [(i, _strip_magics(c.source)) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
            units.append((str(path.relative_to(ROOT)), cells))
    for path in sorted((ROOT / "xai_helpers").rglob("*.py")):
        units.append((str(path.relative_to(ROOT)), [(None, path.read_text())]))
    return units


def findings(rule, units):
    out = []
    for label, cells in units:
        trees = []
        for index, source in cells:
            try:
                trees.append((index, source, ast.parse(source)))
            except SyntaxError:
                continue   # exercise stubs may not parse; nbval runs them
        names = cpu_only_names(ast.Module(body=[n for _, _, t in trees for n in t.body], type_ignores=[]))
        for index, source, tree in trees:
            lines = source.splitlines()
            for node, why in RULES[rule](tree, names):
                line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
                if PRAGMA not in line:
                    where = f"cell {index}" if index is not None else f"line {node.lineno}"
                    out.append(f"{label} {where}: {why}: {ast.get_source_segment(source, node)[:90]!r}")
    return out


@pytest.fixture(scope="module")
def units():
    return code_units()


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("scope", ["lessons", "package"])
def test_device_rules(units, scope, rule):
    mine = [u for u in units if (u[0].startswith("xai_helpers")) == (scope == "package")]
    assert mine, f"nothing to scan in the {scope}"
    found = findings(rule, mine)
    assert not found, f"{len(found)} place(s) break the device rule '{rule}':\n" + "\n".join(found)


# ------------------------------------------------------------------------------- the scan itself works
@pytest.mark.parametrize("code, rule, flagged", [
    ("y = model(x)\nm = y.numpy()", "numpy", True),
    ("y = model(x)\nm = y.detach().cpu().numpy()", "numpy", False),
    ("m = xh.max_abs_over_channels(g).numpy()", "numpy", True),
    ("m = xh.max_abs_over_channels(g).cpu().squeeze(0).numpy()", "numpy", False),
    ("t = torch.eye(3)\nm = t.numpy()", "numpy", False),
    ("t = torch.eye(3)\nt = model(t)\nm = t.numpy()", "numpy", True),
    ("m = torch.zeros(3, device=x.device).numpy()", "numpy", True),
    ("m = y.cpu().to(device).numpy()", "numpy", True),
    ("m = y.numpy()  # device-ok: y comes from np.load", "numpy", False),
    ("z = torch.zeros(3, dtype=torch.float64, device=x.device)", "float64", True),
    ("z = torch.zeros(3, dtype=torch.float64)", "float64", False),
    ("z = x.double()", "float64", True),
    ("z = x.detach().cpu().double()", "float64", False),
    ("z = x.to(torch.float64)", "float64", True),
    ("z = x.to('cpu', torch.float64)", "float64", False),
    ("y = x * torch.tensor(std).view(1, 3, 1, 1)", "cpu-constant", True),
    ("y = x * torch.tensor(std, device=x.device).view(1, 3, 1, 1)", "cpu-constant", False),
    ("y = x * torch.tensor(2.0)", "cpu-constant", False),
    ("y = 0.5 * a.mean(0) + 0.5 * torch.eye(n)", "cpu-constant", True),
    ("alphas = torch.linspace(0, 1, 5)\ny = base + alphas * (x - base)", "cpu-constant", True),
    ("y = torch.eye(3) * 2 + torch.ones(3)", "cpu-constant", False),
    ("y = x * 2 + 1", "cpu-constant", False),
    ("y = np.arange(3) * torch.ones(3)", "cpu-constant", False),
])
def test_the_scan_flags_what_fails_on_a_gpu_and_nothing_else(code, rule, flagged):
    assert bool(findings(rule, [("snippet", [(0, code)])])) == flagged, code
