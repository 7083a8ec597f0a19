"""Packaging: lower bounds in pyproject, exact versions in one constraints file, data found after `pip install .`.

* pyproject.toml names what `import xai_helpers` needs (lower bounds only) and the extras [lab], [colab], [test];
* requirements/pins.txt pins every one of them exactly once, and is the only file with exact versions;
  make, environment.yml and binder/postBuild install through it;
* a built wheel carries the course photos and data: a non-editable install finds them from any folder.
"""
import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]
PINS = ROOT / "requirements" / "pins.txt"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(requirement):
    return re.split(r"[\s\[<>=!~;@]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pins():
    lines = [ln.strip() for ln in PINS.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    return lines


def _all_requirements():
    return PROJECT["dependencies"] + [r for extra in PROJECT["optional-dependencies"].values() for r in extra]


def test_pyproject_has_lower_bounds_and_no_exact_pins():
    for req in _all_requirements():
        assert not re.search(r"===?|~=", req), f"{req}: exact versions belong in requirements/pins.txt"
        assert ">=" in req, f"{req}: give a lower bound"
    assert {"lab", "test", "colab"} <= set(PROJECT["optional-dependencies"])
    runtime = {_name(r) for r in PROJECT["dependencies"]}
    assert not runtime & {"pytest", "nbval", "playwright", "jupyterlab", "hypothesis", "nbgrader"}


def test_every_requirement_is_pinned_exactly_once():
    pins = _pins()
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[\w.+\-]+", p) for p in pins), pins
    names = [_name(p) for p in pins]
    assert len(names) == len(set(names)), "a package is pinned twice"
    missing = {_name(r) for r in _all_requirements()} - set(names)
    assert not missing, f"not pinned in requirements/pins.txt: {sorted(missing)}"


def test_torch_pair_is_pinned():
    assert {"torch==2.14.1", "torchvision==0.29.1"} <= set(_pins())


def test_make_conda_and_binder_install_through_the_pins_and_nowhere_else_pin():
    makefile = (ROOT / "Makefile").read_text()
    assert "PINS   := requirements/pins.txt" in makefile and re.search(r"pip install .*-c \$\(PINS\)", makefile)
    env = (ROOT / "environment.yml").read_text()
    assert "- -c requirements/pins.txt" in env and re.search(r"- -e \.\[.*lab.*\]", env)
    postbuild = (ROOT / "binder" / "postBuild").read_text()
    assert "-c requirements/pins.txt" in postbuild
    for path in (ROOT / "environment.yml", ROOT / "Makefile", *(ROOT / "binder").iterdir()):
        text = "\n".join(ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith("#"))
        assert not re.search(r"[A-Za-z]==\d", text), f"{path.name} pins a version; use requirements/pins.txt"


def _imports(tree):
    """(module-level imports, imports inside functions) of a parsed module: top-level package names."""
    top, lazy = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = {node.module.split(".")[0]}
        else:
            continue
        (top if node.col_offset == 0 else lazy).update(names)
    return top, lazy


def test_what_the_package_imports_is_declared():
    """Module-level imports need a runtime dependency; imports inside functions at least an extra."""
    dist_of = importlib.metadata.packages_distributions()
    runtime = {_name(r) for r in PROJECT["dependencies"]}
    declared = {_name(r) for r in _all_requirements()}
    for path in sorted((ROOT / "xai_helpers").rglob("*.py")):
        top, lazy = _imports(ast.parse(path.read_text()))
        for names, allowed, kind in ((top, runtime, "dependencies"), (lazy, declared, "an extra")):
            for module in names - set(sys.stdlib_module_names) - {"xai_helpers"}:
                dists = {_name(d) for d in dist_of.get(module, [module])}
                assert dists & allowed, f"{path.name} imports {module} ({dists}): list it in pyproject {kind}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and re.search(r"^make test\s*$", ci, re.M)
