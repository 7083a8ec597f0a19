"""The course's colour maps survive colour-vision deficiency: each sequential map keeps its lightness order,
and the diverging map keeps two distinguishable arms.

About 1 in 12 men see red and green alike (deuteranopia, protanopia and their milder forms). Every ``*_CMAP``
constant of the package is drawn as 256 colours, passed through the Machado, Oliveira & Fernandes (2009)
simulation at full severity (``colorspacious``: ``sRGB1+CVD``, deuteranomaly / protanomaly, severity 100)
and checked:

* a sequential map (dark = 0, bright = large) must stay strictly monotone in CIELAB lightness L* and keep
  a wide lightness range, so "brighter means more" still reads;
* the diverging map (``SIGNED_CMAP``, blue < 0 < red) must keep its lightness ordering on each arm (darkest
  at the ends, lightest at 0) and its two arms distinguishable: every pair of colours at the same distance
  from 0 (|t - 0.5| >= 0.1) differs by at least 10 in CAM02-UCS and lies on opposite hues (>= 90 degrees
  apart in the a'b' plane), so a positive value never looks like a negative one.

Results with matplotlib 3.11 (min over both deficiencies): inferno, magma, viridis monotone (smallest L*
step 0.07, 0.07, 0.21 per 1/255); RdBu_r arms apart by dE' >= 14.8 at hues >= 155 degrees. A red-green map
(RdYlGn, dE' 0.5 and 0.1 degrees) and the rainbow ``jet`` fail, which the last tests show.
"""
import importlib
import pkgutil

import matplotlib
import numpy as np
import pytest

import xai_helpers as xh

colorspacious = pytest.importorskip("colorspacious", reason="colorspacious is a test dependency: "
                                    "pip install -c requirements/pins.txt -e '.[test]' (make test does this)")

DEFICIENCIES = ("deuteranomaly", "protanomaly")   # at severity 100: deuteranopia and protanopia
SAMPLES = 256
DIVERGING = {xh.viz.SIGNED_CMAP}


def course_colour_maps():
    """{'module.NAME': map name} for every ``*_CMAP`` string constant in the package and its subpackages."""
    found = {}
    for info in pkgutil.walk_packages(xh.__path__, prefix="xai_helpers."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if name.endswith("_CMAP") and isinstance(value, str):
                found.setdefault(value, f"{info.name}.{name}")
    return found


def simulate(cmap, deficiency):
    """The map's colours as seen with the deficiency: (sRGB in [0, 1], CIELAB, CAM02-UCS), each (SAMPLES, 3)."""
    from colorspacious import cspace_convert
    rgb = matplotlib.colormaps[cmap](np.linspace(0.0, 1.0, SAMPLES))[:, :3]
    seen = cspace_convert(rgb, {"name": "sRGB1+CVD", "cvd_type": deficiency, "severity": 100}, "sRGB1")
    seen = np.clip(seen, 0.0, 1.0)
    return seen, cspace_convert(seen, "sRGB1", "CIELab"), cspace_convert(seen, "sRGB1", "CAM02-UCS")


def sequential_problems(cmap, deficiency):
    """Why a sequential map fails after simulation ([] when it passes)."""
    _, lab, _ = simulate(cmap, deficiency)
    lightness = lab[:, 0]
    problems = []
    steps = np.diff(lightness)
    if not (steps > 0).all():
        problems.append(f"L* falls {int((steps <= 0).sum())} times (worst step {steps.min():.2f})")
    if lightness[-1] - lightness[0] < 50:
        problems.append(f"L* spans only {lightness[-1] - lightness[0]:.1f}")
    return problems


def diverging_problems(cmap, deficiency, min_delta_e=10.0, min_hue_degrees=90.0, centre_gap=0.1):
    """Why a diverging map fails after simulation ([] when it passes)."""
    _, lab, ucs = simulate(cmap, deficiency)
    lightness, half = lab[:, 0], SAMPLES // 2
    problems = []
    if not ((np.diff(lightness[:half]) > 0).all() and (np.diff(lightness[half:]) < 0).all()):
        problems.append("L* does not rise from each end towards the centre")
    pairs = np.arange(0, half - int(round(centre_gap * SAMPLES)))     # t and 1 - t, |t - 0.5| >= centre_gap
    low, high = ucs[pairs], ucs[SAMPLES - 1 - pairs]
    delta_e = np.linalg.norm(low - high, axis=1)
    cosine = (low[:, 1:] * high[:, 1:]).sum(1) / (np.linalg.norm(low[:, 1:], axis=1)
                                                  * np.linalg.norm(high[:, 1:], axis=1) + 1e-12)
    hue_apart = np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))
    if delta_e.min() < min_delta_e:
        problems.append(f"mirrored colours only dE'={delta_e.min():.1f} apart")
    if hue_apart.min() < min_hue_degrees:
        problems.append(f"mirrored colours only {hue_apart.min():.0f} degrees apart in hue")
    return problems


def test_every_course_colour_map_is_classified():
    maps = course_colour_maps()
    assert len(maps) >= 4, maps
    assert DIVERGING <= set(maps)


@pytest.mark.parametrize("deficiency", DEFICIENCIES)
def test_sequential_maps_keep_their_lightness_order(deficiency):
    sequential = sorted(set(course_colour_maps()) - DIVERGING)
    assert sequential
    failures = {cmap: p for cmap in sequential if (p := sequential_problems(cmap, deficiency))}
    assert failures == {}, f"{deficiency}: {failures}"


@pytest.mark.parametrize("deficiency", DEFICIENCIES)
def test_diverging_map_keeps_two_distinguishable_arms(deficiency):
    failures = {cmap: p for cmap in sorted(DIVERGING) if (p := diverging_problems(cmap, deficiency))}
    assert failures == {}, f"{deficiency}: {failures}"


@pytest.mark.parametrize("deficiency", DEFICIENCIES)
def test_the_checks_fail_a_red_green_map_and_a_rainbow(deficiency):
    assert any("hue" in p or "dE'" in p for p in diverging_problems("RdYlGn", deficiency))
    assert any("L* falls" in p for p in sequential_problems("jet", deficiency))
