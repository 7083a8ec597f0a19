"""The uncertainty helpers behind every verdict (evaluation.stats and its figures), checked against known answers."""
import matplotlib
import numpy as np
import pytest
from matplotlib import pyplot as plt

from xai_helpers.evaluation import compare, holm, interval, show_differences, show_intervals, spread

matplotlib.use("Agg")


def test_interval_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    hits = [interval(rng.normal(1.0, 2.0, 30), n_boot=1000, seed=i).contains(1.0) for i in range(300)]
    assert 0.89 <= np.mean(hits) <= 0.98


def test_interval_shrinks_with_more_items():
    rng = np.random.default_rng(1)
    small, large = interval(rng.normal(size=10)), interval(rng.normal(size=1000))
    assert (large.high - large.low) < 0.5 * (small.high - small.low)


def test_median_statistic():
    ci = interval([1.0, 2.0, 100.0, 3.0, 2.5], statistic="median")
    assert ci.estimate == 2.5


def test_compare_finds_a_clear_shift_and_respects_direction():
    rng = np.random.default_rng(2)
    base = rng.normal(size=40)
    better = base + 0.5 + rng.normal(scale=0.1, size=40)
    assert compare(better, base, names=("new", "old")).winner == "new"
    assert compare(better, base, names=("new", "old"), higher_is_better=False).winner == "old"


def test_compare_cannot_tell_noise_apart():
    rng = np.random.default_rng(3)
    a = rng.normal(size=30)
    c = compare(a, a + rng.normal(scale=1e-3, size=30) * 0, names=("a", "copy"))
    assert c.tie and c.p_value == 1.0 and "cannot tell" in c.reading()


def test_sign_flip_p_value_is_exact_for_small_sets():
    # all five differences positive and equal: only the all-plus and all-minus patterns reach the observed mean
    c = compare([1.0] * 5, [0.0] * 5, names=("a", "b"))
    assert c.p_value == pytest.approx(2 / 32)


def test_paired_design_beats_unpaired_noise():
    rng = np.random.default_rng(4)
    item_effect = rng.normal(scale=5.0, size=25)   # items differ a lot; the methods differ a little, consistently
    a, b = item_effect + 0.3, item_effect
    assert compare(a, b).winner == "A"


def test_holm_matches_hand_computation():
    adjusted = holm([0.01, 0.04, 0.03, 0.2])
    assert adjusted == pytest.approx([0.04, 0.09, 0.09, 0.2])


def test_spread_position_and_range():
    s = spread(np.arange(1, 21))
    assert (s.minimum, s.maximum, s.n) == (1.0, 20.0, 20)
    assert s.position(20) == 1.0 and s.position(0) == 0.0 and s.position(10) == 0.5


def test_errors_say_what_to_do():
    with pytest.raises(ValueError, match="at least 2 values"):
        interval([0.5])
    with pytest.raises(ValueError, match="same items"):
        compare([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="NaN"):
        interval([0.1, float("nan")])


def test_drawn_interval_is_the_printed_one():
    scores = {"a": [0.1, 0.5, 0.3, 0.35, 0.2], "b": [0.6, 0.7, 0.9, 0.4, 0.8]}
    ax = show_intervals(scores, items=list("vwxyz"), highlight="x")
    ends = {round(float(y), 9) for line in ax.lines for y in np.asarray(line.get_ydata(), dtype=float)
            if np.isfinite(y)}
    for values in scores.values():
        ci = interval(values)
        assert round(ci.low, 9) in ends and round(ci.high, 9) in ends
    plt.close(ax.figure)


def _data_points_in_display(ax):
    """Display coordinates of every item dot, mean marker and interval end the panel draws."""
    points = [c.get_offsets() for c in ax.collections if len(c.get_offsets())]
    points += [np.column_stack([line.get_xdata(), line.get_ydata()]) for line in ax.lines if len(line.get_xdata())]
    data = np.concatenate([np.asarray(p, dtype=float) for p in points])
    data = data[np.isfinite(data).all(1)]
    return ax.transData.transform(data)


@pytest.mark.parametrize("yscale", ["linear", "log"])
def test_the_legend_covers_no_point_whatever_the_data(yscale):
    """Dense data at the top, middle and bottom of every column (as in a hit/miss panel with a long chance label):
    the legend gets a band of its own above the data, in either scale."""
    rng = np.random.default_rng(3)
    scores = {name: np.clip(rng.choice([0.01, 1.0, 0.5], 38) + rng.normal(0, 0.02, 38), 0.005, None)
              for name in ("Grad-CAM", "SmoothGrad", "edge detector", "centre prior", "random")}
    fig, axes = plt.subplots(1, 2, figsize=(13, 4))
    ax = show_intervals(scores, items=[f"box {i}" for i in range(38)], ax=axes[0], highlight="box 3", yscale=yscale,
                        chance=0.65, chance_label="chance rate (mean share of the view a hit may fall in)")
    fig.canvas.draw()
    box = ax.get_legend().get_window_extent()
    inside = [(x, y) for x, y in _data_points_in_display(ax) if box.x0 <= x <= box.x1 and box.y0 <= y <= box.y1]
    assert not inside, f"{len(inside)} points under the legend"
    assert ax.get_legend().get_window_extent().y1 <= ax.get_window_extent().y1 + 1     # and it stays in the panel
    plt.close(fig)


def test_yscale_must_be_linear_or_log():
    with pytest.raises(ValueError, match="yscale"):
        show_intervals({"a": [1.0, 2.0, 3.0]}, yscale="symlog")
    plt.close("all")


def test_difference_panel_names_the_verdict():
    rng = np.random.default_rng(5)
    ref, noise = rng.normal(size=20), rng.normal(size=20)
    ax = show_differences({"up": ref + 1, "same": ref + (noise - noise.mean()), "ref": ref},
                          against="ref")
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0].endswith("better") and labels[1].endswith("cannot tell")
    plt.close(ax.figure)
