"""The package's layers, read from its imports: dependencies point one way (README, "Package layout")."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "xai_helpers"
BOTTOM = {"device", "data", "digits", "_validate", "_typecheck"}
RANK = {"models": 1, "methods": 2, "evaluation": 3, "interpret": 4, "explore": 4, "check": 4}


def _layer(parts):
    """The layer of a module given as its path parts inside the package ('' for the package itself)."""
    head = parts[0] if parts else ""
    return "bottom" if head in BOTTOM else head


def _imports():
    """(importing module's layer, imported module's layer, where) for every import inside the package."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                target = base + (node.module.split(".") if node.module else [])
                names = [target + [a.name] for a in node.names] if not node.module else [target]
                for t in names:
                    if parts and parts[0] != "__init__":
                        out.append((_layer(parts), _layer(t), f"{'/'.join(parts)} imports {'.'.join(t) or '.'}"))
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("xai_helpers"):
                out.append((_layer(parts), _layer(node.module.split(".")[1:]), f"{'/'.join(parts)} imports {node.module}"))
    return out


IMPORTS = _imports()


def test_the_scan_sees_the_imports():
    assert len(IMPORTS) > 80 and {a for a, _, _ in IMPORTS} >= {"models", "methods", "evaluation", "viz", "bottom"}


@pytest.mark.parametrize("layer", ["bottom", "models", "methods", "evaluation", "interpret", "explore", "check"])
def test_imports_point_down_only(layer):
    rank = RANK.get(layer, 0)
    wrong = [where for a, b, where in IMPORTS if a == layer and b != "viz" and b != a and RANK.get(b, 0) > rank]
    assert wrong == []


def test_plotting_only_draws_arrays_and_validation_loads_nothing():
    assert [w for a, b, w in IMPORTS if a == "viz" and b not in ("viz", "bottom")] == []
    assert [w for a, b, w in IMPORTS if a in ("bottom", "models", "methods") and b == "viz"] == []
    assert [w for a, b, w in IMPORTS if w.startswith("_validate") and b != "bottom"] == []
