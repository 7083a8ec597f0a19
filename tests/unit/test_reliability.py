"""Reliability: no hooks or memory left behind, bit-identical seeded results, safe loading and rendering."""
import ast
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]


def _torch_load_calls():
    for path in list((ROOT / "xai_helpers").rglob("*.py")) + list((ROOT / "tools").rglob("*.py")) \
            + list((ROOT / "bench").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load" \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch":
                yield path, node


def test_every_checkpoint_is_loaded_with_weights_only():
    calls = list(_torch_load_calls())
    for path, node in calls:
        kw = {k.arg: k.value for k in node.keywords}
        assert "weights_only" in kw and isinstance(kw["weights_only"], ast.Constant) \
            and kw["weights_only"].value is True, f"{path.name}:{node.lineno} torch.load without weights_only=True"
    assert calls, "expected at least the EfficientNet checkpoint to be loaded with torch.load"


def test_no_pickle_based_loading_in_the_package():
    for path in (ROOT / "xai_helpers").rglob("*.py"):
        text = path.read_text()
        assert "pickle.load" not in text and "joblib.load" not in text, path
