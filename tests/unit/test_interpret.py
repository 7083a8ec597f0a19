"""End-to-end interpreters (xai_helpers.interpret)."""
import matplotlib
import pytest

from xai_helpers.interpret import ImageClassifierInterpreter, render_tokens_html

matplotlib.use("Agg")


def test_interpreter_rejects_a_plain_module(tiny_net):
    with pytest.raises(TypeError, match="load_image_model"):
        ImageClassifierInterpreter(tiny_net)


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
