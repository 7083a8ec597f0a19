"""The package's layers, read from its imports: dependencies point one way (README, "Package layout"), no two
files import each other (directly or round a loop), and an import inside a function has a reason."""
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "xai_helpers"
BOTTOM = {"device", "data", "digits", "_validate", "_typecheck", "attention_arrays", "_memory"}
RANK = {"models": 1, "methods": 2, "evaluation": 3, "interpret": 4, "explore": 4, "check": 4}


def _layer(parts):
    """The layer of a module given as its path parts inside the package ('' for the package itself)."""
    head = parts[0] if parts else ""
    return "bottom" if head in BOTTOM else head


def _module_parts(path):
    """xai_helpers/a/b.py -> ['a', 'b']; xai_helpers/a/__init__.py -> ['a']."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _targets(node, parts, is_package):
    """Module path parts (inside the package) that one import statement names; [] for other packages."""
    if isinstance(node, ast.Import):
        return [a.name.split(".")[1:] for a in node.names if a.name.split(".")[0] == PACKAGE.name]
    if node.level:
        here = parts if is_package else parts[:-1]
        base = here[:len(here) - (node.level - 1)]
    elif (node.module or "").split(".")[0] == PACKAGE.name:
        base = []
        node = ast.ImportFrom(module=".".join(node.module.split(".")[1:]) or None, names=node.names, level=1)
    else:
        return []
    target = base + (node.module.split(".") if node.module else [])
    out = []
    for alias in node.names:        # `from . import x` and `from .a import b` where b is a module
        sub = target + [alias.name]
        path = PACKAGE.joinpath(*sub)
        is_module = path.with_suffix(".py").exists() or (path / "__init__.py").exists()
        out.append(sub if is_module else target)
    return out


def _scan(package=PACKAGE):
    """(module-level imports: {module: {module: line}}, in-function imports: [(module, line, statement, targets)])."""
    top, inner = {}, []
    for path in sorted(package.rglob("*.py")):
        parts = _module_parts(path)
        name = ".".join(parts)
        tree = ast.parse(path.read_text())
        top.setdefault(name, {})
        nested = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                  for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            targets = [".".join(t) for t in _targets(node, parts, path.name == "__init__.py")]
            if id(node) in nested:
                inner.append((name, node.lineno, ast.unparse(node), targets))
            else:
                for t in targets:
                    top[name].setdefault(t, node.lineno)
    return top, inner


def find_cycle(graph):
    """One import loop of ``graph`` ({module: iterable of modules}) as [a, b, ..., a], or None. A package
    importing its own submodules (``x`` -> ``x.y``) is not a loop: Python runs ``x/__init__`` first."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt == node or nxt.startswith(node + ".") or node == "":
                continue
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


TOP, INNER = _scan()
IMPORTS = [(_layer(a.split(".") if a else []), _layer(b.split(".") if b else []), f"{a.replace('.', '/')} imports {b}")
           for a, targets in TOP.items() if a for b in targets]


def test_the_scan_sees_the_imports():
    assert len(IMPORTS) > 80 and {a for a, _, _ in IMPORTS} >= {"models", "methods", "evaluation", "viz", "bottom"}
    assert "explore.image_widgets" in TOP["explore.image"] and "methods.registry" in TOP["evaluation.signed"]
    assert "explore" in TOP[""] and "attention_arrays" in TOP["viz.attention"]     # `from . import x` counts


@pytest.mark.parametrize("layer", ["bottom", "models", "methods", "evaluation", "interpret", "explore", "check"])
def test_imports_point_down_only(layer):
    rank = RANK.get(layer, 0)
    wrong = [where for a, b, where in IMPORTS if a == layer and b != "viz" and b != a and RANK.get(b, 0) > rank]
    assert wrong == []


def test_plotting_only_draws_arrays_and_validation_loads_nothing():
    assert [w for a, b, w in IMPORTS if a == "viz" and b not in ("viz", "bottom")] == []
    assert [w for a, b, w in IMPORTS if a in ("bottom", "models", "methods") and b == "viz"] == []
    assert [w for a, b, w in IMPORTS if w.startswith("_validate") and b != "bottom"] == []


def test_the_cycle_finder_finds_a_loop_and_only_a_loop():
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b", "c"], "b": ["c"], "c": []}) is None
    assert find_cycle({"x": ["x.y"], "x.y": ["z"], "z": []}) is None          # a package and its submodule
    assert find_cycle({"x.a": ["x.b"], "x.b": ["x.a"]}) == ["x.a", "x.b", "x.a"]


def test_no_two_files_import_each_other():
    assert find_cycle(TOP) is None, f"import loop: {' -> '.join(find_cycle(TOP))}"


def _loaded_by_import():
    """Modules that ``import xai_helpers`` loads (in a fresh interpreter)."""
    code = "import json, sys; import xai_helpers; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _needless(inner, top, loaded):
    """In-function imports with no reason: of a package module that could be imported at module level without
    making a loop, or of a module that ``import xai_helpers`` loads anyway (deferring it saves nothing). Deferring
    a module the package does not load (an optional dependency, a slow one used by few functions) is allowed."""
    out = []
    for module, line, statement, targets in inner:
        if targets:
            if not find_cycle({**top, module: {**top.get(module, {}), **dict.fromkeys(targets, line)}}):
                out.append(f"{module}:{line} {statement} (no loop: import it at the top)")
        else:
            names = [statement.split()[1]] if statement.startswith("from ") else \
                [n.strip().split(" as ")[0] for n in statement[len("import "):].split(",")]
            if all(n in loaded for n in names):
                out.append(f"{module}:{line} {statement} (already loaded by import xai_helpers)")
    return out


def test_the_in_function_import_rule_can_fail():
    top = {"a": {"b": 1}, "b": {}, "c": {}}
    inner = [("b", 5, "from .a import f", ["a"]), ("b", 6, "from .c import g", ["c"]),
             ("b", 7, "import json", []), ("b", 8, "import some_optional_package", [])]
    assert _needless(inner, top, loaded={"json"}) == ["b:6 from .c import g (no loop: import it at the top)",
                                                      "b:7 import json (already loaded by import xai_helpers)"]
