"""No dead code and one value per constant name: every top-level definition of the package is used somewhere
(the package, the notebooks, the solutions, tests, bench, tools) or exported in an ``__all__``, and no
UPPER_CASE name is given two different values in two modules."""
import ast
import json
import re
from pathlib import Path

import pytest



ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "xai_helpers"
USERS = ("xai_helpers", "notebooks", "solutions", "tests", "bench", "tools")
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _notebook_code(path):
    cells = json.loads(path.read_text())["cells"]
    lines = [line for c in cells if c["cell_type"] == "code" for line in "".join(c["source"]).splitlines()]
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def used_names(tree):
    """Identifiers a module reads: names, attributes, imported names, and identifiers inside strings
    (``getattr(m, "name")``, ``monkeypatch.setattr("pkg.mod.name", ...)``)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.alias):
            out.update(node.name.split("."))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 200:
            out.update(part for part in node.value.split(".") if IDENTIFIER.fullmatch(part))
    return out


def definitions(tree):
    """Top-level functions, classes and assigned names of a module -> {name: line}."""
    out = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out[node.name] = node.lineno
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for name in ast.walk(t):
                    if isinstance(name, ast.Name):
                        out[name.id] = node.lineno
    return {k: v for k, v in out.items() if not (k.startswith("__") and k.endswith("__"))}


def exported(tree):
    """Names listed in the module's ``__all__``."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return set()


def unused(modules, users):
    """``modules``: {file: source} of the package; ``users``: sources that may use its names -> ['file:line name']."""
    trees = {f: ast.parse(s) for f, s in modules.items()}
    names, public = set(), set()
    for tree in trees.values():
        names |= used_names(tree)
        public |= exported(tree)
    for source in users:
        names |= used_names(ast.parse(source))
    return sorted(f"{f}:{line} {name}" for f, tree in trees.items() for name, line in definitions(tree).items()
                  if name not in names and name not in public)


def constant_values(modules):
    """Public UPPER_CASE names assigned at module level -> {name: {value as written: [files]}}."""
    out = {}
    for f, source in modules.items():
        for node in ast.parse(source).body:
            if isinstance(node, ast.Assign):
                pairs = zip(node.targets[0].elts, node.value.elts) if isinstance(node.targets[0], ast.Tuple) and \
                    isinstance(node.value, ast.Tuple) else [(t, node.value) for t in node.targets]
                for target, value in pairs:
                    if isinstance(target, ast.Name) and target.id.isupper() and len(target.id) > 1 \
                            and not target.id.startswith("_"):
                        out.setdefault(target.id, {}).setdefault(ast.unparse(value), []).append(f)
    return out


def _package_sources():
    return {str(p.relative_to(ROOT)): p.read_text() for p in sorted(PACKAGE.rglob("*.py"))}


def _user_sources():
    for folder in USERS[1:]:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix == ".py":
                yield path.read_text()
            elif path.suffix == ".ipynb" and ".ipynb_checkpoints" not in path.parts:
                yield _notebook_code(path)


def test_the_dead_code_finder_can_fail():
    package = {"a.py": "__all__ = ['f']\ndef f(): return g()\ndef g(): pass\ndef h(): pass\nK = 1\n_C = 2\n"}
    assert unused(package, ["print(K)"]) == ["a.py:4 h", "a.py:6 _C"]


def test_every_top_level_definition_is_used_or_exported():
    sources = _package_sources()
    assert len(sources) > 50
    assert unused(sources, list(_user_sources())) == []


def test_the_constant_check_can_fail():
    found = constant_values({"a.py": "SIGMA = 10\nA, BB = 1, 2\n", "b.py": "SIGMA = 3\nBB = 2\n"})
    assert found["SIGMA"] == {"10": ["a.py"], "3": ["b.py"]} and found["BB"] == {"2": ["a.py", "b.py"]}


def test_one_name_one_value_for_every_constant():
    clashes = {name: values for name, values in constant_values(_package_sources()).items() if len(values) > 1}
    assert clashes == {}
