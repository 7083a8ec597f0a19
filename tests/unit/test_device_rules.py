"""Device rules, enforced by a static scan of every lesson/exercise/solution code cell and the package.

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
from pathlib import Path

import nbformat
import pytest

from device_scan import Flow, factory, is_cpu_literal, kw, method, to_cpu, kind

ROOT = Path(__file__).resolve().parents[2]
PRAGMA = "# device-ok"
FLOAT64 = {"float64", "double"}
ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.MatMult, ast.Pow, ast.Mod)


# -------------------------------------------------------------------------------------------- the rules
def rule_numpy(node, name_kind):
    if method(node) == "numpy" and not node.args and kind(node.func.value, name_kind) != "cpu":
        return "`.numpy()` on a tensor that may be on the model's device: use xh.to_numpy(t) or .cpu() first"
    return None


def rule_float64(node, name_kind):
    if not isinstance(node, ast.Call):
        return None
    dtype = kw(node, "dtype")
    f64 = isinstance(dtype, ast.Attribute) and dtype.attr in FLOAT64
    if factory(node) and f64 and kw(node, "device") is not None and not is_cpu_literal(kw(node, "device")):
        return "float64 tensor created on a device (Apple MPS has none)"
    m = method(node)
    to_f64 = m == "to" and (f64 or any(isinstance(a, ast.Attribute) and a.attr in FLOAT64 for a in node.args))
    if (m == "double" or to_f64) and not to_cpu(node) and kind(node.func.value, name_kind) != "cpu":
        return f"`.{m}(...float64)` on a tensor that may be on the model's device (Apple MPS has no float64)"
    return None


def rule_mixing(node, name_kind):
    if isinstance(node, ast.BinOp) and isinstance(node.op, ARITHMETIC):
        sides = (node.left, node.right)
    elif isinstance(node, ast.AugAssign) and isinstance(node.op, ARITHMETIC):
        sides = (node.target, node.value)
    else:
        return None
    if {kind(side, name_kind) for side in sides} == {"cpu", "unknown"}:
        return "a tensor made on the CPU mixed with one that may be on the model's device: pass device="
    return None


RULES = {"numpy": rule_numpy, "float64": rule_float64, "cpu-constant": rule_mixing}


# ------------------------------------------------------------------------------------------ what we scan
def _strip_magics(source):
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines())


def code_units():
    """(label, [(cell index or None, source)]) for every notebook and package module."""
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
    """Every place in ``units`` that breaks ``rule`` -> ["label cell/line: why: code", ...]."""
    out = []
    for label, cells in units:
        env, seen = {}, set()
        for index, source in cells:   # notebook cells in order, sharing their variables
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue   # exercise stubs may not parse; nbval runs them

            def emit(node, why, index=index, source=source):
                key = (index, node.lineno, node.col_offset, why)
                if PRAGMA not in source.splitlines()[node.lineno - 1] and key not in seen:
                    seen.add(key)
                    place = f"cell {index}" if index is not None else f"line {node.lineno}"
                    out.append(f"{label} {place}: {why}: {ast.get_source_segment(source, node)[:90]!r}")
            env = Flow(RULES[rule], emit).block(tree.body, env)
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
    ("hw = a.shape[2] * a.shape[3]\ncam = relu(w * a).cpu() / hw", "cpu-constant", False),
    ("grid = 300\nk = [n for n in range(1, 9) if grid % n == 0]", "cpu-constant", False),
    ("def f(n_steps=8):\n    return torch.arange(n_steps) / n_steps", "cpu-constant", False),
    ("def f(x, n):\n    a = torch.arange(n) / n\n    return a * x", "cpu-constant", True),
    ("def f(x):\n    x = x.detach().cpu()\n    x = x[0] if x.dim() == 4 else x\n    return x.numpy()", "numpy", False),
    ("x = 1\ndef f(x):\n    return x.numpy()", "numpy", True),
    ("m = torch.as_tensor([1.0, 2.0])[None]\nr = F.interpolate(m, size=(4, 4))[0, 0].numpy()", "numpy", False),
    ("r = torch.relu(model(x)).numpy()", "numpy", True),
    ("def f(n, size):\n    p = torch.rand(n, 2) * size\n    return torch.zeros(n, size * size) + p.sum()",
     "cpu-constant", False),
    ("def f(x, k=PATCH):\n    return torch.arange(8) + k", "cpu-constant", True),
    ("PATCH = 4\ndef f(x, k=PATCH):\n    return torch.arange(8) + k", "cpu-constant", False),
    ("for i in range(3):\n    y = model(x)\nz = y.numpy()", "numpy", True),
    ("y = torch.zeros(3)\nif c:\n    y = model(x)\nz = y.numpy()", "numpy", True),
    ("y = torch.zeros(3)\nif c:\n    y = torch.ones(3)\nz = y.numpy()", "numpy", False),
    ("def show(t):\n    return t.detach().cpu()\nm = show(model(x)).numpy()", "numpy", False),
    ("def keep(t):\n    return t * 2\nm = keep(model(x)).numpy()", "numpy", True),
    ("A, B = 4, 0.5\ny = B * torch.randn(A)", "cpu-constant", False),
    ("import xai_helpers as xh\nm = xh.no_such_helper(x).numpy()", "numpy", True),
    ("import torch\ny = 0.5 * a.mean(0) + 0.5 * torch.eye(n)", "cpu-constant", True),
])
def test_the_scan_flags_what_fails_on_a_gpu_and_nothing_else(code, rule, flagged):
    assert bool(findings(rule, [("snippet", [(0, code)])])) == flagged, code
