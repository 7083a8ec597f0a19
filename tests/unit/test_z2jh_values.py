"""A class on Kubernetes: tools/hub/z2jh/values.yaml for the Zero to JupyterHub chart.

Checks what the values promise a teacher: the image is the one repo2docker builds from binder/ (with nbgrader
and nbgitpuller), each learner is guaranteed at least the heaviest lesson's measured kernel peak
(bench/RESULTS.md), the nbgrader exchange is a shared ReadWriteMany volume mounted where nbgrader_config.py
says the exchange is, and the nbgitpuller link is well formed. The chart's own schema check runs when the
chart is at hand in build/z2jh/jupyterhub/ (`helm pull jupyterhub/jupyterhub --version 4.4.0 --untar` there): it
ships with the chart, not with a PyPI or npm package; helm validates the chart's defaults merged with ours.
"""
import re
import sys
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is a test dependency (make test installs it)")

ROOT = Path(__file__).resolve().parents[2]
Z2JH = ROOT / "tools" / "hub" / "z2jh"
VALUES = yaml.safe_load((Z2JH / "values.yaml").read_text())
SINGLEUSER = VALUES["singleuser"]
CHART = ROOT / "build" / "z2jh" / "jupyterhub"
UNITS = {"K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def k8s_bytes(quantity):
    """A Kubernetes memory quantity ('2G', '1536Mi', 2000000000) in bytes."""
    number, unit = re.fullmatch(r"([\d.]+)([KMGT]i?)?", str(quantity)).groups()
    return float(number) * (UNITS[unit] if unit else 1)


def measured_kernel_peaks_gb(lesson="4.5_end_to_end"):
    """Every 'kernel ru_maxrss' that bench/RESULTS.md records for ``lesson``'s notebook, in GB."""
    peaks, column = [], None
    for line in (ROOT / "bench" / "RESULTS.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else None
        if cells is None:
            column = None
        elif "kernel ru_maxrss" in cells:
            column = cells.index("kernel ru_maxrss")
        elif column is not None and lesson in cells[0] and len(cells) > column:
            match = re.fullmatch(r"([\d.]+) GB", cells[column])
            if match:
                peaks.append(float(match.group(1)))
    return peaks


def nbgrader_config():
    """The c.X.y = value settings of the nbgrader_config.py that the values mount in every pod."""
    files = SINGLEUSER["extraFiles"]
    config = next(f for f in files.values() if f["mountPath"].endswith("/nbgrader_config.py"))
    return dict(re.findall(r"^c\.(\w+\.\w+)\s*=\s*(.+?)\s*$", config["stringData"], flags=re.M)), config


def test_image_is_built_by_repo2docker_from_binder_with_the_classroom_extra():
    text = (Z2JH / "values.yaml").read_text()
    assert "repo2docker" in text and "binder/" in text and "--target-repo-dir" in text
    assert SINGLEUSER["image"]["name"] and SINGLEUSER["image"]["tag"]
    postbuild = (ROOT / "binder" / "postBuild").read_text()
    assert "-c requirements/pins.txt" in postbuild
    extras = re.search(r'-e "\.\[([\w,]+)\]"', postbuild).group(1).split(",")
    assert {"lab", "classroom"} <= set(extras)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    classroom = " ".join(project["optional-dependencies"]["classroom"])
    assert "nbgrader" in classroom and "nbgitpuller" in classroom
    assert (ROOT / "binder" / "runtime.txt").read_text().strip().startswith("python-3")
    # the init container that opens the exchange runs the same image (already on the node)
    images = {c["image"] for c in SINGLEUSER["initContainers"]}
    assert images == {f"{SINGLEUSER['image']['name']}:{SINGLEUSER['image']['tag']}"}


def test_memory_guarantee_covers_the_heaviest_lessons_measured_kernel_peak():
    peaks = measured_kernel_peaks_gb()
    assert peaks, "bench/RESULTS.md records no kernel peak of lesson 4.5"
    peak = max(peaks) * 2**30                      # read GB as GiB: the stricter of the two
    guarantee, limit = k8s_bytes(SINGLEUSER["memory"]["guarantee"]), k8s_bytes(SINGLEUSER["memory"]["limit"])
    assert guarantee >= peak, (SINGLEUSER["memory"], max(peaks))
    assert limit >= guarantee + 1e9                # room for a second notebook beside the heaviest one
    assert str(max(peaks)) in (Z2JH / "values.yaml").read_text()   # the comment names the measured number


def test_nbgrader_exchange_is_a_shared_volume_mounted_at_the_configured_root():
    settings, _ = nbgrader_config()
    root = settings["Exchange.root"].strip("\"'")
    assert settings["CourseDirectory.course_id"].strip("\"'")
    mounts = {m["mountPath"]: m["name"] for m in SINGLEUSER["storage"]["extraVolumeMounts"]}
    assert root in mounts, (root, mounts)
    volume = next(v for v in SINGLEUSER["storage"]["extraVolumes"] if v["name"] == mounts[root])
    claim = volume["persistentVolumeClaim"]["claimName"]
    pvc = yaml.safe_load((Z2JH / "exchange-pvc.yaml").read_text())
    assert pvc["kind"] == "PersistentVolumeClaim" and pvc["metadata"]["name"] == claim
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]        # every user's pod mounts it at once
    opener = SINGLEUSER["initContainers"][0]
    assert any(m["mountPath"] == root for m in opener["volumeMounts"]) and f"0777 {root}" in opener["command"][-1]
    # a uid per user, so that the exchange's file permissions separate the learners
    assert "c.KubeSpawner.uid = " in "\n".join(VALUES["hub"]["extraConfig"].values())


def test_learners_do_not_get_the_formgrader():
    disabled = next(f for f in SINGLEUSER["extraFiles"].values()
                    if f["mountPath"].endswith("labconfig/page_config.json"))["data"]["disabledExtensions"]
    assert disabled["@jupyter/nbgrader:formgrader"] is True
    assert "@jupyter/nbgrader:assignment-list" not in disabled


def test_nbgitpuller_link():
    sys.path.insert(0, str(Z2JH))
    try:
        from gitpuller_link import gitpuller_link
    finally:
        sys.path.remove(str(Z2JH))
    link = urlparse(gitpuller_link("https://hub.example.org/", "https://git.example.org/o/course.git"))
    assert (link.scheme, link.netloc, link.path) == ("https", "hub.example.org", "/hub/user-redirect/git-pull")
    query = {k: v[0] for k, v in parse_qs(link.query).items()}
    assert query == {"repo": "https://git.example.org/o/course.git", "branch": "main", "targetPath": "xai-course",
                     "urlpath": "lab/tree/xai-course/notebooks/4.1_saliency_maps.ipynb"}


def merged(defaults, overrides):
    """Helm's merge of values: mappings merge key by key, anything else (lists too) is replaced."""
    if isinstance(defaults, dict) and isinstance(overrides, dict):
        return {k: merged(defaults.get(k), overrides[k]) if k in overrides else defaults[k]
                for k in {**defaults, **overrides}}
    return overrides


@pytest.mark.skipif(not (CHART / "values.schema.json").exists(), reason="the jupyterhub Helm chart is not in "
                    "build/z2jh/jupyterhub: `cd build/z2jh && helm pull jupyterhub/jupyterhub --version 4.4.0 --untar` "
                    "(needs helm and the chart repository https://hub.jupyter.org/helm-chart/)")
def test_values_pass_the_charts_schema():
    import json

    import jsonschema
    values = merged(yaml.safe_load((CHART / "values.yaml").read_text()), VALUES)
    jsonschema.validate(values, json.loads((CHART / "values.schema.json").read_text()))
