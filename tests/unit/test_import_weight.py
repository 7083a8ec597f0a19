"""``import xai_helpers`` stays light: no module of the package imports a heavy or optional library at its top;
the functions that need one import it when first called (the in-function import rule allows that:
tests/unit/test_layers.py). What a fresh interpreter really loads is checked in tests/system/test_import_weight.py.

torchvision is one of them: it imports ``torch._dynamo``, sympy and triton (~170 MB resident, ~2.5 s), so
``import xai_helpers`` took 770 MB with it at the top of five modules and 606 MB without (``import torch`` alone:
510 MB; measured on the course machine, CPU, torch 2.14).
"""
import ast

from unit.test_layers import PACKAGE

#: Libraries no module of the package imports at its top (the first dotted part, or a full dotted name).
DEFERRED = ("torchvision", "torch._dynamo", "sympy", "transformers", "captum", "quantus", "pytorch_grad_cam",
            "seaborn", "sklearn", "ipywidgets", "cv2", "bertviz")


def _top_level_imports(path):
    """The dotted names that the module-level statements of ``path`` import (not those inside functions)."""
    tree = ast.parse(path.read_text())
    nested = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
              for n in ast.walk(f)}
    names = []
    for node in ast.walk(tree):
        if id(node) in nested:
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names.append(node.module)
    return names


def _heavy(name):
    return any(name == d or name.startswith(d + ".") for d in DEFERRED)


def test_no_module_imports_a_heavy_library_at_its_top():
    found = [f"{path.relative_to(PACKAGE.parent)}: {name}" for path in sorted(PACKAGE.rglob("*.py"))
             for name in _top_level_imports(path) if _heavy(name)]
    assert found == []


def test_the_scan_sees_top_level_imports_and_skips_function_bodies(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import torch\nfrom torchvision import models\ntry:\n    import cv2\nexcept ImportError:\n"
                      "    pass\n\ndef f():\n    import sklearn\n    from transformers import AutoModel\n")
    assert _top_level_imports(module) == ["torch", "torchvision", "cv2"]
    assert [n for n in _top_level_imports(module) if _heavy(n)] == ["torchvision", "cv2"]
    assert not _heavy("torchvisionx") and _heavy("torch._dynamo.utils") and not _heavy("torch")
