"""Static reading of code for tests/unit/test_device_rules.py: which expressions are surely CPU tensors.

Every expression gets a kind: "scalar" (a number, a shape, a numpy array, a list: not a torch tensor),
"cpu" (a torch tensor surely on the CPU) or "unknown" (a tensor that may live on the model's device).
``Flow`` reads code in order (notebook cells one after another), so a variable has the kind of its last
assignment, and after an if or a loop the kind both paths agree on; a function's calls have the kind of
what it returns (also for the package's functions, called as ``xh.f(...)`` or imported). A parameter is
"scalar" when its default is a number or the body uses it as a size (``torch.zeros(n)``, ``range(n)``).
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FACTORIES = {"tensor", "as_tensor", "from_numpy", "arange", "linspace", "logspace", "zeros", "ones", "full",
             "empty", "eye", "rand", "randn", "randint", "randperm"}


SCALAR_CALLS = {"int", "float", "len", "round", "abs", "range", "str", "bool", "min", "max", "sum", "list", "tuple"}
SCALAR_METHODS = {"item", "numel", "dim", "size", "tolist", "numpy"}
MODULES = {"torch", "F", "nn", "np", "numpy", "math"}     # calls on these are operations, not methods
SHAPE_METHODS = {"view", "reshape", "expand", "repeat", "new_zeros", "new_ones", "new_full", "unflatten"}


def _links(node):
    """The method/attribute chain of an expression, outermost first, ending at its base."""
    out = []
    while True:
        out.append(node)
        if factory(node) is not None or _module_call(node) is not None:
            return out
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            node = node.func.value
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        else:
            return out


def method(node):
    return node.func.attr if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) else None


def factory(node):
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


def kw(call, name):
    return next((k.value for k in call.keywords if k.arg == name), None)


def is_cpu_literal(node):
    if isinstance(node, ast.Constant) and node.value == "cpu":
        return True
    return isinstance(node, ast.Call) and method(node) == "device" and bool(node.args) and is_cpu_literal(node.args[0])


def to_cpu(link):
    """``.cpu()`` or ``.to("cpu")`` / ``.to(device="cpu")``."""
    m = method(link)
    return m == "cpu" or (m == "to" and (any(is_cpu_literal(a) for a in link.args)
                                         or is_cpu_literal(kw(link, "device"))))


def _moves(link):
    return method(link) in ("to", "cuda", "mps") and not to_cpu(link)


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
        if method(link) in SCALAR_METHODS or (isinstance(link, ast.Attribute) and link.attr in ("shape", "ndim")):
            return "scalar"
        returned = _returned_kind(link, name_kind)
        if returned is not None:
            return returned
        if to_cpu(link):
            return "cpu"
        if _moves(link):
            return "unknown"
    return _base_kind(links[-1], name_kind)


def _returned_kind(call, name_kind):
    """What a call of a function defined earlier (or in the package: ``xh.f``, ``module.f``) returns, if known."""
    if not isinstance(call, ast.Call) or factory(call) or _module_call(call):
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
    made = factory(base)
    if made:
        device = kw(base, "device")
        if device is not None and not is_cpu_literal(device):
            return "unknown"
        zero_d = made in ("tensor", "as_tensor") and base.args and _numeric(base.args[0])
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
        sized = ((factory(node) not in (None, "tensor", "as_tensor", "from_numpy"))
                 or getattr(node.func, "id", "") == "range" or method(node) in SHAPE_METHODS)
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
                from_package = isinstance(stmt, ast.ImportFrom) and (stmt.level > 0 or (stmt.module or "").startswith("xai_helpers"))
                known = package_returns().get(alias.name) if from_package else None
                env[name] = f"returns {known}" if known else "module"
        elif isinstance(stmt, ast.AugAssign):
            value = ast.BinOp(stmt.target, stmt.op, stmt.value)
            _bind(stmt.target, kind(value, lambda n: local.get(n, "unknown")), env)
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
        _PACKAGE_RETURNS["(building)"] = "unknown"   # the first pass: the package's own imports see an empty table
        trees = [ast.parse(path.read_text()) for path in sorted((ROOT / "xai_helpers").rglob("*.py"))]
        for _ in range(2):                           # the second pass: imports between subpackages see the first's
            found = {}
            for tree in trees:
                env = Flow(None, None).block(tree.body, {})
                found.update({n: k.split()[1] for n, k in env.items() if k.startswith("returns ")})
            _PACKAGE_RETURNS.update(found)
    return _PACKAGE_RETURNS
