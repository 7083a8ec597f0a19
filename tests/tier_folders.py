"""The test tiers, declared by folder (a pytest plugin; the root conftest.py loads it).

* ``tests/unit/``: small hand-built inputs, no pretrained or catalog model, no processes (``make unit``, ~2 min on 2 cores);
* ``tests/integration/``: tests that load or train a pretrained/catalog model (``make integration``);
* ``tests/system/``: notebooks, browsers, subprocesses, kernels, network namespaces, venvs, packaging
  (``make system``); the notebook cells nbval collects (notebooks/, solutions/, exercises/) are system too.

Each collected test gets the marker of its folder, so ``-m unit`` selects what ``tests/unit`` holds. Every
collection fails, with a message, while a test module lies under tests/ outside the three folders (e.g.
``tests/test_new.py``: move it into the folder of its tier), and for a test collected from elsewhere or with a
tier marker that differs from its folder's.

The unit tier is checked while it runs: in a unit test (fixtures included) the package's model loaders and
``subprocess`` fail the test, naming the folder it belongs in. A unit test that runs code which loads the
offline default model on purpose (the docstring examples of the loaders) says so with
``@pytest.mark.loads_pretrained`` (or ``pytestmark = pytest.mark.loads_pretrained`` for a whole module):
the model guard then leaves it alone. The check is strict in ``make unit``; in a run of every tier a session
fixture that an integration test built earlier is handed to a unit test without a load.
"""
import contextlib
import functools
import subprocess
from pathlib import Path

import pytest

TIERS = ("unit", "integration", "system")
OPT_OUT = "loads_pretrained"


def folder_tier(path, rootpath):
    """The tier whose folder holds ``path`` (``rootpath/tests/<tier>/...``), else ``None``."""
    try:
        parts = Path(path).relative_to(Path(rootpath) / "tests").parts
    except ValueError:
        return None
    return parts[0] if len(parts) > 1 and parts[0] in TIERS else None


def item_tier(item):
    """A collected test's tier: a notebook cell's is ``system``, a Python test's is its folder's (or ``None``)."""
    if item.path.suffix == ".ipynb":
        return "system"
    return folder_tier(item.path, item.config.rootpath)


def misplaced_message(path, rootpath):
    where = path.relative_to(rootpath) if path.is_relative_to(rootpath) else path
    return (f"{where} is not in a tier folder: move it into tests/unit (small hand-built inputs, no pretrained "
            f"model, no processes), tests/integration (loads or trains a pretrained/catalog model) or tests/system "
            f"(notebooks, browsers, subprocesses, kernels, installs); the folder declares the tier "
            f"(tests/tier_folders.py).")


def misplaced_test_files(config):
    """The test modules (``python_files`` patterns) under ``tests/`` but outside the tier folders."""
    tests = config.rootpath / "tests"
    found = {path for pattern in config.getini("python_files") for path in tests.rglob(pattern)}
    return sorted(path for path in found if folder_tier(path, config.rootpath) is None)


@pytest.hookimpl(tryfirst=True)   # before ``-m`` deselects by these markers
def pytest_collection_modifyitems(config, items):
    misplaced = misplaced_test_files(config)            # named even when this run does not collect them
    problems = [misplaced_message(path, config.rootpath) for path in misplaced]
    for item in items:
        tier = item_tier(item)
        declared = {m.name for m in item.iter_markers() if m.name in TIERS}
        if tier is None:
            if item.path not in misplaced:
                problems.append(f"{item.nodeid}: {misplaced_message(item.path, config.rootpath)}")
        elif declared - {tier}:
            problems.append(f"{item.nodeid}: marked {', '.join(sorted(declared))} but lies in tests/{tier}/ "
                            f"(the folder declares the tier: drop the marker or move the test)")
        elif not declared:
            item.add_marker(tier)
    if problems:
        raise pytest.UsageError("Tests without exactly one tier:\n" + "\n".join(problems))
    # The slowest tier first (a stable sort: files keep their order inside a tier). Under xdist with
    # --dist loadfile --no-loadscope-reorder (make test) the workers take whole files in this order, so the
    # minute-long system files start early and the many short unit files fill the end, where a long file
    # would otherwise keep one worker busy while the other waits.
    items.sort(key=lambda item: TIERS[::-1].index(item_tier(item) or "system"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Run a unit test (setup, call, teardown) with the package's loaders and subprocess refusing to work."""
    if item_tier(item) != "unit":
        return (yield)
    with contextlib.ExitStack() as stack:
        stack.enter_context(no_processes(item.nodeid))
        if not item.get_closest_marker(OPT_OUT):
            stack.enter_context(no_pretrained_models(item.nodeid))
        return (yield)


@contextlib.contextmanager
def no_pretrained_models(nodeid):
    """Make every model loader of the package fail the running test (``pytest.fail``: no ``except Exception``
    in the code under test swallows it). The loaders' error paths that read no weights keep working: an
    unknown name, a missing checkpoint."""
    from xai_helpers.evaluation.groundtruth import cnn
    from xai_helpers.models import base, image, sentiment, text, vit

    def refuse(*args, **kwargs):
        pytest.fail(f"{nodeid} loads a pretrained or catalog model, which a unit test must not: move it to "
                    f"tests/integration, or mark it @pytest.mark.{OPT_OUT} if loading the offline default is "
                    f"its point (tests/tier_folders.py)", pytrace=False)

    read_digit_cnn = cnn._read

    def read_only_a_missing_checkpoint(path):
        if Path(path).exists():
            refuse()
        return read_digit_cnn(path)   # raises the error that names the rebuild command

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(base, "_CACHE", {})   # a model an earlier test loaded is built again here, so refused
        for module in (image, text, vit, sentiment):
            mp.setattr(module, "_load_fresh", refuse)
        mp.setattr(cnn, "_load", functools.lru_cache(maxsize=None)(cnn._load.__wrapped__))
        mp.setattr(cnn, "_read", read_only_a_missing_checkpoint)
        yield


@contextlib.contextmanager
def no_processes(nodeid):
    """Make starting a process (``subprocess``, hence also ``os.popen`` users) fail the running test."""
    def refuse(*args, **kwargs):
        pytest.fail(f"{nodeid} starts a process, which a unit test must not: move it to tests/system "
                    f"(tests/tier_folders.py)", pytrace=False)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(subprocess.Popen, "_execute_child", refuse)
        yield
