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
# Every expression gets a kind: "scalar" (a number, a shape, a numpy array, a list: not a torch tensor),
# "cpu" (a torch tensor surely on the CPU) or "unknown" (a tensor that may live on the model's device).
# Code is read in order (notebook cells one after another), so a variable has the kind of its last assignment;
# after an if or a loop, the kind both paths agree on. A parameter is "scalar" when its default is a number.
SCALAR_CALLS = {"int", "float", "len", "round", "abs", "range", "str", "bool", "min", "max", "sum", "list", "tuple"}
SCALAR_METHODS = {"item", "numel", "dim", "size", "tolist", "numpy"}
MODULES = {"torch", "F", "nn", "np", "numpy", "math"}     # calls on these are operations, not methods
SHAPE_METHODS = {"view", "reshape", "expand", "repeat", "new_zeros", "new_ones", "new_full", "unflatten"}


def _links(node):
    """The method/attribute chain of an expression, outermost first, ending at its base."""
    out = []
    while True:
        out.append(node)
        if _factory(node) is not None or _module_call(node) is not None:
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


def _module_call(node):
    """'torch' for ``torch.relu(x)``, ``torch.nn.functional.pad(x)``, 'F' for ``F.interpolate(x)`` etc., else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    root = node.func.value
    while isinstance(root, ast.Attribute):
        root = root.value
    return root.id if isinstance(root, ast.Name) and root.id in MODULES else None


def _kw(call, name):
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_cpu_literal(node):
    if isinstance(node, ast.Constant) and node.value == "cpu":
        return True
    return isinstance(node, ast.Call) and _method(node) == "device" and bool(node.args) and _is_cpu_literal(node.args[0])


def _to_cpu(link):
    """``.cpu()`` or ``.to("cpu")`` / ``.to(device="cpu")``."""
    m = _method(link)
    return m == "cpu" or (m == "to" and (any(_is_cpu_literal(a) for a in link.args)
                                         or _is_cpu_literal(_kw(link, "device"))))


def _moves(link):
    return _method(link) in ("to", "cuda", "mps") and not _to_cpu(link)


def _numeric(node):
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float, complex))
    return isinstance(node, ast.UnaryOp) and _numeric(node.operand)


def _join(kinds):
    kinds = set(kinds)
    return kinds.pop() if len(kinds) == 1 else "cpu" if kinds == {"scalar", "cpu"} else "unknown"


def kind(node, name_kind):
    """"scalar", "cpu" or "unknown" for an expression; ``name_kind(name)`` gives a variable's kind."""
    if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
        return _join(kind(e, name_kind) for e in node.elts)
    if isinstance(node, (ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.JoinedStr, ast.Set)):
        return "scalar"
    if isinstance(node, ast.UnaryOp):
        return kind(node.operand, name_kind)
    if isinstance(node, ast.BinOp):
        return _join(kind(p, name_kind) for p in (node.left, node.right))
    if isinstance(node, ast.IfExp):
        return _join(kind(p, name_kind) for p in (node.body, node.orelse))
    if isinstance(node, ast.Compare):
        return _join(kind(p, name_kind) for p in (node.left, *node.comparators))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SCALAR_CALLS:
        return "scalar"
    links = _links(node)
    for link in links:           # outermost first: the latest step decides
        if _method(link) in SCALAR_METHODS or (isinstance(link, ast.Attribute) and link.attr in ("shape", "ndim")):
            return "scalar"
        returned = _returned_kind(link, name_kind)
        if returned is not None:
            return returned
        if _to_cpu(link):
            return "cpu"
        if _moves(link):
            return "unknown"
    return _base_kind(links[-1], name_kind)


def _returned_kind(call, name_kind):
    """What a call of a function defined earlier (or in the package: ``xh.f``, ``module.f``) returns, if known."""
    if not isinstance(call, ast.Call) or _factory(call) or _module_call(call):
        return None
    func = call.func
    if isinstance(func, ast.Name):
        k = name_kind(func.id)
    elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and name_kind(func.value.id) == "module":
        k = "returns " + package_returns().get(func.attr, "unknown")
    else:
        return None
    return k.split()[1] if k.startswith("returns ") else None


def _base_kind(base, name_kind):
    factory = _factory(base)
    if factory:
        device = _kw(base, "device")
        if device is not None and not _is_cpu_literal(device):
            return "unknown"
        zero_d = factory in ("tensor", "as_tensor") and base.args and _numeric(base.args[0])
        return "scalar" if zero_d else "cpu"
    module = _module_call(base)
    if module in ("np", "numpy", "math"):
        return "scalar"
    if module is not None:   # an operation: its result lives where its tensor arguments live
        return _join(kind(a, name_kind) for a in base.args) if base.args else "unknown"
    if isinstance(base, ast.Name):
        k = "scalar" if base.id in ("np", "numpy", "math") else name_kind(base.id)
        return k if k in ("scalar", "cpu") else "unknown"
    if isinstance(base, (ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Compare, ast.List, ast.Tuple)):
        return kind(base, name_kind)
    return "unknown"


def _parameters(function, env):
    """The function's variables at its start: the enclosing ones, then its parameters -- "scalar" when the
    default is a number (or a scalar constant) or when the body uses the name as a size (``torch.zeros(n)``,
    ``range(n)``, ``x.view(n, -1)``), else "unknown"."""
    args, outer = function.args, dict(env)
    params = args.posonlyargs + args.args
    defaults = [None] * (len(params) - len(args.defaults)) + list(args.defaults)
    pairs = list(zip(params, defaults)) + list(zip(args.kwonlyargs, args.kw_defaults))
    pairs += [(a, None) for a in (args.vararg, args.kwarg) if a is not None]
    sizes = _size_names(function)
    for a, d in pairs:
        scalar = a.arg in sizes or (d is not None and kind(d, lambda n: outer.get(n, "unknown")) == "scalar")
        env[a.arg] = "scalar" if scalar else "unknown"
    return env


def _size_names(function):
    """Names used as sizes in ``function``: in factory arguments (not data), ``range()`` or shape methods."""
    out = set()
    for node in ast.walk(function):
        if not isinstance(node, ast.Call):
            continue
        sized = ((_factory(node) not in (None, "tensor", "as_tensor", "from_numpy"))
                 or getattr(node.func, "id", "") == "range" or _method(node) in SHAPE_METHODS)
        if sized:
            out |= {n.id for a in node.args for n in ast.walk(a) if isinstance(n, ast.Name)}
    return out


def _bind(target, value_kind, env, value=None):
    """Assign: a plain name gets ``value_kind``; ``a, b = 1, x`` pairs up; other targets become unknown."""
    if isinstance(target, ast.Name):
        env[target.id] = value_kind
    elif (isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts)
          and not any(isinstance(e, ast.Starred) for e in target.elts)):
        for t, v in zip(target.elts, value.elts):
            _bind(t, kind(v, lambda n: env.get(n, "unknown")), env, v)
    else:
        for n in ast.walk(target):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                env[n.id] = "unknown"


def _iter_kind(node, env):
    ranged = isinstance(node, ast.Call) and getattr(node.func, "id", "") == "range"
    return "scalar" if ranged else "unknown"


def _join_env(*envs):
    out = {}
    for env in envs:
        for name, k in env.items():
            out[name] = k if out.get(name, k) == k else "unknown"
    return out


def _expressions(stmt):
    """The expression nodes a simple statement evaluates (not inside nested functions or lambdas)."""
    todo, out = [stmt], []
    while todo:
        node = todo.pop()
        out.append(node)
        todo.extend(c for c in ast.iter_child_nodes(node) if not isinstance(c, ast.Lambda))
    return out


class Flow:
    """Walks code in order, keeping each variable's kind, and reports what ``rule`` flags."""

    def __init__(self, rule, emit):
        self.rule, self.emit, self.returns = rule, emit, []

    def block(self, stmts, env):
        for stmt in stmts:
            env = self.statement(stmt, env)
        return env

    def statement(self, stmt, env):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.check(stmt.args.defaults + [d for d in stmt.args.kw_defaults if d], env)
            outer, self.returns = self.returns, []
            self.block(stmt.body, _parameters(stmt, dict(env)))
            env[stmt.name] = "returns " + (_join(self.returns) if self.returns else "unknown")
            self.returns = outer
            return env
        if isinstance(stmt, ast.ClassDef):
            self.block(stmt.body, dict(env))
            return env
        if isinstance(stmt, (ast.If, ast.While)):
            self.check([stmt.test], env)
            body = self.block(stmt.body, dict(env))
            if isinstance(stmt, ast.While):
                body = self.block(stmt.body, _join_env(env, body))
            return _join_env(body, self.block(stmt.orelse, dict(env)))
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            self.check([stmt.iter], env)
            inner = dict(env)
            _bind(stmt.target, _iter_kind(stmt.iter, env), inner)
            body = self.block(stmt.body, inner)
            body = self.block(stmt.body, _join_env(inner, body))   # a second pass sees the loop's own updates
            return _join_env(env, body, self.block(stmt.orelse, dict(env)))
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            self.check([i.context_expr for i in stmt.items], env)
            for item in stmt.items:
                if item.optional_vars is not None:
                    _bind(item.optional_vars, "unknown", env)
            return self.block(stmt.body, env)
        if isinstance(stmt, ast.Try):
            body = self.block(stmt.body, dict(env))
            handlers = [self.block(h.body, dict(_join_env(env, body), **({h.name: "unknown"} if h.name else {})))
                        for h in stmt.handlers]
            after = _join_env(self.block(stmt.orelse, body), *handlers)
            return self.block(stmt.finalbody, after)
        return self.simple(stmt, env)

    def simple(self, stmt, env):
        local = dict(env)
        for node in ast.walk(stmt):        # comprehension variables, for the expressions that use them
            if isinstance(node, ast.comprehension):
                _bind(node.target, _iter_kind(node.iter, local), local)
        self.check([stmt], local)
        if isinstance(stmt, ast.Assign):
            value = kind(stmt.value, lambda n: local.get(n, "unknown"))
            for target in stmt.targets:
                _bind(target, value, env, stmt.value)
        elif isinstance(stmt, ast.Return) and stmt.value is not None:
            self.returns.append(kind(stmt.value, lambda n: local.get(n, "unknown")))
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for alias in stmt.names:
                name = alias.asname or alias.name.split(".")[0]
                from_package = isinstance(stmt, ast.ImportFrom) and (stmt.module or "").startswith("xai_helpers")
                known = package_returns().get(alias.name) if from_package else None
                env[name] = f"returns {known}" if known else "module"
        elif isinstance(stmt, ast.AugAssign):
            _bind(stmt.target, kind(ast.BinOp(stmt.target, stmt.op, stmt.value), lambda n: local.get(n, "unknown")), env)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            _bind(stmt.target, kind(stmt.value, lambda n: local.get(n, "unknown")), env)
        for node in ast.walk(stmt):
            if isinstance(node, ast.NamedExpr):
                _bind(node.target, kind(node.value, lambda n: local.get(n, "unknown")), env)
        return env

    def check(self, roots, env):
        if self.rule is None:
            return
        for root in roots:
            for node in _expressions(root):
                why = self.rule(node, lambda n: env.get(n, "unknown"))
                if why is not None:
                    self.emit(node, why)


_PACKAGE_RETURNS = {}


def package_returns():
    """{function name: kind of what it returns} for the package's functions (the last definition wins)."""
    if not _PACKAGE_RETURNS:
        _PACKAGE_RETURNS["(building)"] = "unknown"   # the package's own imports see an empty table
        for path in sorted((ROOT / "xai_helpers").rglob("*.py")):
            env = Flow(None, None).block(ast.parse(path.read_text()).body, {})
            _PACKAGE_RETURNS.update({n: k.split()[1] for n, k in env.items() if k.startswith("returns ")})
    return _PACKAGE_RETURNS


# -------------------------------------------------------------------------------------------- the rules
def rule_numpy(node, name_kind):
    if _method(node) == "numpy" and not node.args and kind(node.func.value, name_kind) != "cpu":
        return "`.numpy()` on a tensor that may be on the model's device: use xh.to_numpy(t) or .cpu() first"
    return None


def rule_float64(node, name_kind):
    if not isinstance(node, ast.Call):
        return None
    dtype = _kw(node, "dtype")
    f64 = isinstance(dtype, ast.Attribute) and dtype.attr in FLOAT64
    if _factory(node) and f64 and _kw(node, "device") is not None and not _is_cpu_literal(_kw(node, "device")):
        return "float64 tensor created on a device (Apple MPS has none)"
    m = _method(node)
    to_f64 = m == "to" and (f64 or any(isinstance(a, ast.Attribute) and a.attr in FLOAT64 for a in node.args))
    if (m == "double" or to_f64) and not _to_cpu(node) and kind(node.func.value, name_kind) != "cpu":
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
    ("def f(n, size):\n    p = torch.rand(n, 2) * size\n    return torch.zeros(n, size * size) + p.sum()", "cpu-constant", False),
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
