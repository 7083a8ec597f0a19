"""xai_helpers.check.written_answer with the rubrics of the chapter 4 exercises: good answers pass, plausible bad ones
(a part left out, lesson or theory values, invented or one-digit numbers, pasted tables) are refused by name.

The measured numbers are fixed here (as a run would give them); the notebook's check cells pass the run's own.
"""
import numpy as np
import pytest

import xai_helpers as xh


def check():
    return xh.check


# --- Problem 1 ---------------------------------------------------------------------------------------------------
GRIDS, ROUGH, CORR = [224, 7, 14], [0.612, 0.598, 0.0512, 0.0498, 0.0813, 0.0771], [0.934, 0.412, 0.288]
LAKE = [0.105, 0.351, 0.0911, 0.298]
ANSWER_1 = """
1. **Resolution.** The gradient has one value for each of the 224×224 input pixels; Grad-CAM is computed on the 7×7
   grid of the default layer and on the 14×14 grid of _blocks.12, then upsampled.
2. **Noise.** Roughness is 0.61 and 0.60 for the gradient maps, 0.051 and 0.050 for Grad-CAM at the default layer.
3. **Class sensitivity.** The two classes' gradient maps correlate with r = 0.934; Grad-CAM's with r = 0.412 at the
   default layer and r = 0.288 at _blocks.12. The "lakeside" map puts 35.1 % of its mass on the lake box.
4. **Which map.** I would show Grad-CAM at _blocks.12; the price is a layer chosen on one photo.
"""


def _written_1(text):
    return check().written_answer(text, problem=1, parts={
        "resolution": (("resolution", "grid"), GRIDS),
        "noise": (("noise", "rough"), ROUGH, 2),
        "class sensitivity": (("class",), CORR, 2),
        "the map to show and its price": (("show", "price", "cost"), [])},
        measured=LAKE, min_quoted=5, allowed=[224, 9, 50])


# --- Problem 2 ---------------------------------------------------------------------------------------------------
SECONDS, DIFFS, SLOPE, N_NEEDED, SECONDS_NEEDED = [0.0412, 0.112, 0.391], [0.0188, 0.00951, 0.00471], -0.497, 612, 14.9
ANSWER_2 = """
- **Cost grows linearly with n.** n = 1: 0.0412 s, n = 4: 0.112 s, n = 16: 0.391 s on this machine.
- **Noise falls like n^-0.497.** The RMS difference between two seeds is 1.88e-02, 9.51e-03, 4.71e-03 for
  n = 1, 4, 16; the fitted slope -0.497 is close to the -0.5 of an average of independent samples.
- **Samples needed.** The map's noise-free RMS is 1.86e-03; two seeds should differ by at most half of it,
  9.30e-04. The fitted line reaches that at n = 612, about 14.9 s here.
- **What I would do.** The prediction is affordable: compute the figure with that n.
"""


def _written_2(text):
    return check().written_answer(text, problem=2, parts={
        "cost": (("cost", "second"), SECONDS, 2),
        "noise": (("noise", "difference"), [*DIFFS, SLOPE], 3),
        "samples needed": (("samples needed", "n_needed", "reaches"), [N_NEEDED, SECONDS_NEEDED], 1),
        "what to do": (("would do", "too slow", "affordable"), [])},
        measured=[0.00186, 0.00093], min_quoted=6, allowed=[1, 4, 16], decoys=[-0.5, 0.5])


# --- Problem 3 ---------------------------------------------------------------------------------------------------
OUTSIDE, PARTS, ERRORS, INSIDE = [0.0712, 0.861, 0.121, 0.452], [0.0381, 0.412, 0.0652, 0.297], \
    [0.112, 0.0213, 0.0121, 0.0318], [0.402, 0.511, 0.0834, 0.371]
ANSWER_3 = """
- **Blind to the background:** black, blur. Outside the flower the photo is dark: mean |x − x′| outside black 0.071,
  blur 0.121. IG cannot credit the background from them: black gives it 3.8%, blur 6.5% of F(x) − F(x′).
- **Can answer the question:** white (distance outside 0.861), noise (0.452). They give the background white 41.2%,
  noise 29.7%: the background counts for 'daisy'.
- **Completeness errors:** black 11.2%, white 2.1%, blur 1.2%, noise 3.2%.
- **Choosing a baseline:** a baseline says what "absent" means; use one that differs from the region asked about.
"""


def _written_3(text):
    return check().written_answer(text, problem=3, must_mention=["black", "white", "blur", "noise", "background"],
                                  parts={"blind baselines": (("blind",), OUTSIDE, 1),
                                         "what the seeing baselines say": (("answer",), PARTS, 2),
                                         "completeness errors": (("completeness",), ERRORS, 2),
                                         "how to choose a baseline": (("choos",), [])},
                                  measured=INSIDE, min_quoted=5, decoys=[0.2, 0.05])


# --- Problem 4 ---------------------------------------------------------------------------------------------------
BEST, POSITIVE, HELD = 0.318, 0.611, [0.121, -0.0423, 0.0871, 0.153, 0.0112]
ANSWER_4 = f"""
- **The head.** Layer 3, head 7 gives "were" 0.318 more weight on "hedgehogs" than on "veterinarian"; 61% of all heads
  favour the subject at all.
- **On held-out sentences** the same head's margins are +0.121, -0.042, +0.087, +0.153, +0.011: positive on 4 of 5,
  +{np.mean(HELD):.3f} on average. Verdict: it does not generalise by the rule.
- **Winner's curse.** The head was chosen because it had the largest margin among 72 on one sentence.
- **What it shows.** At most that one head's weights line up with agreement; a weight is not an explanation.
"""


def _written_4(text):
    return check().written_answer(text, problem=4, parts={
        "the head": (("layer",), [BEST, POSITIVE], 1),
        "held-out sentences": (("held-out", "held out", "other sentences"), [*HELD, float(np.mean(HELD))], 2),
        "why the winner looks better": (("winner", "chosen", "luck"), []),
        "what it shows": (("show", "uses"), [])}, measured=[], min_quoted=3, allowed=[72, 5], decoys=[0.5])


# --- Problem 5 ---------------------------------------------------------------------------------------------------
P_PRED, P_TRUE, RANK, CHANCE = 0.157, 0.000412, 187, 0.103
EVIDENCE, P_MARGIN = [0.284, 0.0912, 0.412, 0.187], [0.993, 0.901, 0.555, 0.165, 0.0301]
ANSWER_5 = """
- **Prediction:** 'palace' with 15.7%; the true class 'monarch' has 0.04%, rank 187 of 1000.
- **Evidence:** the box is 10.3% of the image. The 'monarch' Grad-CAM map puts 41.2% of its mass inside it, the
  'palace' map 28.4%. Of IG's positive evidence, 18.7% lies in the box for 'monarch' and 9.1% for 'palace'.
- **Remedy:** cropping to the box gives 'monarch' p = 99.3%; with margins of 0 px: 99.3%, 8 px: 90.1%,
  16 px: 55.5%, 24 px: 16.5%, 32 px: 3.0%. It keeps at least 50% up to a margin of 16 px.
- **Diagnosis:** the model finds the butterfly, but the scene around it outweighs it.
"""


def _written_5(text):
    return check().written_answer(text, problem=5, must_mention=["palace", "monarch", "rank"], parts={
        "prediction": (("prediction",), [P_PRED, P_TRUE, RANK], 2),
        "evidence": (("evidence",), [CHANCE, *EVIDENCE], 3),
        "remedy": (("remedy", "crop"), P_MARGIN, 3),
        "diagnosis": (("diagnosis",), [])},
        measured=[0.0123, 0.0311], min_quoted=8, allowed=[0, 8, 16, 24, 32, 1000], decoys=[0.5])


# --- Problem 6 ---------------------------------------------------------------------------------------------------
FOLLOWS, CONTROL, ACCURACY, CLEAN, INSIDE_SHARE, AREA = 0.473, 0.0, 0.987, 0.965, 0.452, 0.0352
ANSWER_6 = """
- **Region and content:** rows 17-25, columns 39-47 of the 48×48 scene: a small pattern of bright pixels.
- **How it was found:** IG from black, one map per scene; normalised, zeroed inside the digits' boxes and averaged
  over 300 scenes: the region holds 45% of the evidence outside the digits on 3.5% of the pixels.
- **How strongly the model follows it:** pasting the region from another class makes the model answer the donor's
  class in 47% of the scenes; the mirrored region does it in 0%.
- **Why the accuracy hid it:** the pattern agrees with the digit (accuracy 98.7% and 96.5%).
- **Which methods to trust:** per-pixel attributions compared with a model without the shortcut.
"""


def _written_6(text):
    return check().written_answer(text, problem=6, must_mention=[("accuracy",)], parts={
        "region and content": (("region", "row"), []),
        "how it was found": (("found", "average"), [INSIDE_SHARE, AREA], 1),
        "how strongly the model follows it": (("paste", "follow"), [FOLLOWS, CONTROL], 1),
        "why the accuracy hid it": (("accuracy",), [ACCURACY, CLEAN], 1),
        "which methods to trust": (("trust",), [])},
        measured=[], min_quoted=3, allowed=[17, 39, 26, 48, 25, 47, 300], decoys=[0.1])


WRITTEN = {1: (_written_1, ANSWER_1), 2: (_written_2, ANSWER_2), 3: (_written_3, ANSWER_3), 4: (_written_4, ANSWER_4),
           5: (_written_5, ANSWER_5), 6: (_written_6, ANSWER_6)}


@pytest.mark.parametrize("problem", sorted(WRITTEN))
def test_a_good_answer_passes(problem, capsys):
    checker, answer = WRITTEN[problem]
    assert checker(answer) is None
    assert "\u2713" in capsys.readouterr().out


def _drop_line(text, start):
    """``text`` without the list item that starts with ``start`` (and its continuation lines)."""
    out, skipping = [], False
    for line in text.splitlines():
        if line.lstrip().startswith(("- ", "1.", "2.", "3.", "4.")):
            skipping = line.lstrip().lstrip("-1234. ").startswith(start)
        if not skipping:
            out.append(line)
    return "\n".join(out)


WRONG = [
    # a part left out, although a word of it appears in another part
    (1, lambda t: _drop_line(t, "**Noise") .replace("_blocks.12, then", "_blocks.12 (a rough grid), then"),
     "the part about noise quotes 0"),
    # one-digit roundings of the roughness
    (1, lambda t: t.replace("0.61 and 0.60", "0.6 and 0.6").replace("0.051 and 0.050", "0.05 and 0.05"),
     "the part about noise quotes"),
    # an invented correlation a few percent off the measured one
    (1, lambda t: t.replace("r = 0.934", "r = 0.95").replace("r = 0.412", "r = 0.43"), "the part about class"),
    # the theory's slope in place of the fitted one, the differences left out
    (2, lambda t: t.replace("1.88e-02, 9.51e-03, 4.71e-03", "smaller and smaller").replace("-0.497", "-0.50"),
     "the part about noise quotes"),
    # timings typed in, close to but not the measured ones
    (2, lambda t: t.replace("0.0412 s", "0.045 s").replace("0.112 s", "0.12 s").replace("0.391 s", "0.40 s"),
     "the part about cost quotes 0"),
    # the measurements pasted as a table
    (2, lambda t: t + "\n   n    seconds   difference\n   1    0.0412    0.0188\n   4    0.112     0.00951\n",
     "pasted table"),
    (2, lambda t: _drop_line(t, "**What I would do"), "no part about what to do"),
    # the threshold quoted as the distance
    (3, lambda t: t.replace("black 0.071,\n  blur 0.121", "black and blur below 0.2"), "the part about blind baselines"),
    (3, lambda t: _drop_line(t, "**Completeness"), "no part about completeness errors"),
    (3, lambda t: t.replace("white 41.2%,\n  noise 29.7%", "{'white': 0.412, 'noise': 0.297}"), "pasted tensor, dict"),
    # held-out margins rounded to one digit
    (4, lambda t: t.replace("+0.121, -0.042, +0.087, +0.153, +0.011", "+0.1, -0.04, +0.09, +0.2, +0.01")
     .replace(f"+{np.mean(HELD):.3f}", "+0.07"), "the part about held-out sentences quotes"),
    (4, lambda t: _drop_line(t, "**Winner"), "no part about why the winner"),
    (4, lambda t: t.replace("0.318", "0.3").replace("61%", "most"), "the part about the head quotes 0"),
    (5, lambda t: _drop_line(t, "**Diagnosis"), "no part about diagnosis"),
    # margins' probabilities rounded to whole percent; the lesson's majority threshold is not a measurement
    (5, lambda t: t.replace("99.3%; with margins of 0 px: 99.3%, 8 px: 90.1%,\n  16 px: 55.5%, 24 px: 16.5%, 32 px: 3.0%",
                            "high; it falls with the margin"), "the part about remedy quotes"),
    (5, lambda t: t.replace("15.7%", "about a sixth").replace("0.04%", "almost nothing"), "the part about prediction"),
    (6, lambda t: _drop_line(t, "**Which methods"), "no part about which methods to trust"),
    (6, lambda t: t.replace("47%", "50%"), "the part about how strongly the model follows it quotes 0"),
    (6, lambda t: t.replace("98.7% and 96.5%", "0.98712345 and 0.96512345"), "unrounded"),
]


@pytest.mark.parametrize("problem, change, message", WRONG, ids=[f"written{p}-{k}" for k, (p, _, _) in enumerate(WRONG)])
def test_a_bad_written_answer_is_refused_by_name(problem, change, message):
    checker, answer = WRITTEN[problem]
    changed = change(answer)
    assert changed != answer
    with pytest.raises(check().CheckFailed, match=message) as info:
        checker(changed)
    assert not isinstance(info.value, check().NotAnsweredYet)


def test_coordinates_and_counts_the_question_asks_for_are_not_held_against_an_answer(capsys):
    text = ANSWER_6.replace("rows 17-25, columns 39-47 of the 48×48 scene",
                            "rows 17-25, columns 39-47 (top 17, left 39, bottom 26, right 48) of the 48×48 scene")
    assert _written_6(text) is None


def test_numbers_match_only_as_the_run_rounds_them():
    from xai_helpers.check.written import _fits, _informative, _written_numbers
    (written,) = _written_numbers("0.61")
    assert _fits(0.6123, written) and not _fits(0.63, written)
    (percent,) = _written_numbers("35.1 %")
    assert _fits(0.3512, percent) and not _fits(0.36, percent)
    (zero,) = _written_numbers("0")
    assert _fits(0.0, zero) and not _informative(0.0, zero)
    (one_digit,) = _written_numbers("0.6")
    assert _fits(0.6123, one_digit) and not _informative(0.6123, one_digit)
