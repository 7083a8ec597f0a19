"""End-to-end interpreters (xai_helpers.interpret)."""
import matplotlib
import pytest

from xai_helpers.interpret import ImageClassifierInterpreter, render_tokens_html

matplotlib.use("Agg")


def test_interpreter_rejects_a_plain_module(tiny_net):
    with pytest.raises(TypeError, match="load_image_model"):
        ImageClassifierInterpreter(tiny_net)


def test_interpreter_batch_size_changes_memory_not_the_maps():
    """``batch_size`` sets IG's and SmoothGrad's images per pass; the maps stay the same (to rounding)."""
    import numpy as np
    import torch

    from unit.test_fuzz import WRAPPED
    torch.manual_seed(0)
    x = torch.rand(1, 3, 16, 16)
    default = ImageClassifierInterpreter(WRAPPED, n_steps=6, n_samples=5).interpret(x, target=1)
    for batch_size in (1, 2, 7):
        small = ImageClassifierInterpreter(WRAPPED, n_steps=6, n_samples=5, batch_size=batch_size).interpret(x, target=1)
        assert list(small.maps) == list(default.maps)
        for key in default.maps:
            np.testing.assert_allclose(small.maps[key], default.maps[key], rtol=1e-5, atol=1e-6)
        assert abs(small.ig_delta - default.ig_delta) < 1e-5
    with pytest.raises(ValueError, match="batch_size"):
        ImageClassifierInterpreter(WRAPPED, batch_size=0)


# --- text ------------------------------------------------------------------------------------


def test_html_rendering_escapes_and_centres_colours_at_zero():
    html_text = render_tokens_html(["[CLS]", "<script>", "good", "bad", "[SEP]"], [0.0, 0.0, 2.0, -1.0, 0.0])
    assert "<script>" not in html_text and "&lt;script&gt;" in html_text
    assert html_text.count("<span") == 5                                   # every token shown
    colours = [c.split(";")[0] for c in html_text.split("background-color:")[1:]]
    white = colours[0]
    assert colours[1] == white == colours[4]                              # 0 -> the centre colour
    red, blue = colours[2].strip(), colours[3].strip()
    assert int(red[1:3], 16) > int(red[5:7], 16)                          # positive: red
    assert int(blue[5:7], 16) > int(blue[1:3], 16)                        # negative: blue
