"""Build files: pyproject.toml and environment.yml list the same dependencies; CI runs the README's command."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _norm(req):
    return re.sub(r"\s+", "", req).lower().replace("_", "-")


def _environment_pip_list():
    lines, inside = [], False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if re.match(r"^\s*-\s*pip:\s*$", line):
            inside = True
            continue
        if inside:
            m = re.match(r"^\s{6,}-\s*(.+?)\s*$", line)
            if not m:
                break
            lines.append(m.group(1))
    return [r for r in lines if not r.startswith("-e")]


def test_environment_yml_lists_exactly_the_pyproject_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = _environment_pip_list()
    assert env, "environment.yml has no pip section"
    assert sorted(map(_norm, env)) == sorted(map(_norm, project))


def test_torch_pair_is_pinned():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch==2.14.1" in deps and "torchvision==0.29.1" in deps


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and re.search(r"^make test\s*$", ci, re.M)
