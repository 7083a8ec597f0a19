"""The checkers of the exercises, checked: one reference answer per task passes, and a catalogue of plausible
wrong answers (tried as a learner would, tests/check_answers.py) is refused, each with the message that names
its mistake. Inputs are small (64-96 px) wherever a checker takes its input from the caller.
"""
import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import xai_helpers as xh
import check_answers as A

pytestmark = pytest.mark.usefixtures("one_thread")   # hundreds of small model passes (tests/conftest.py)

CLASSES_1 = ["palace", "lakeside"]
BOXES_96 = {"tower": (0, 0, 47, 95), "lake": (55, 48, 95, 68)}
LAYERS_1 = ["_head_activation", "_blocks.12"]
SENTENCE = "The hedgehogs behind the veterinarian were asleep."
WORDS = ("were", "hedgehogs", "veterinarian")
HELD_OUT = [("The flamingos near the lighthouse were pink.", "were", "flamingos", "lighthouse"),
            ("The keys to the old cabinet are missing.", "are", "keys", "cabinet")]


def check():
    """The live checker module (another test may have reloaded it)."""
    return xh.check


@pytest.fixture(autouse=True)
def _a_quiet_machine(monkeypatch):
    """The wrong timings (two calls timed together, a timer before the loop) are named only on a machine that is not
    busy (common.machine_is_busy); `make test` keeps both cores busy, so the catalogue is checked as on a quiet one.
    tests/unit/test_check.py checks what a busy machine changes."""
    import importlib
    monkeypatch.setattr(importlib.import_module("xai_helpers.check.problem2"), "machine_is_busy", lambda: False)


@pytest.fixture(scope="module")
def model():
    return xh.load_image_model()


@pytest.fixture(scope="module")
def text_model():
    return xh.load_text_model()


@pytest.fixture(scope="module")
def china96(model):
    from PIL import Image
    from sklearn.datasets import load_sample_image
    x = model.preprocess(Image.fromarray(load_sample_image("china.jpg")))
    return F.interpolate(x, size=(96, 96), mode="bilinear", align_corners=False)


@pytest.fixture(scope="module")
def maps_1(model, china96):
    layers = {"gradient": None, "Grad-CAM, default layer": "_head_activation", "Grad-CAM, _blocks.12": "_blocks.12"}
    maps = {m: {c: xh.max_abs_over_channels(xh.vanilla_gradients(model, china96, c)) if layer is None
                else xh.grad_cam(model, china96, c, layer=layer) for c in CLASSES_1} for m, layer in layers.items()}
    return maps, layers


@pytest.fixture(scope="module")
def butterfly64(model):
    return F.interpolate(model.preprocess("butterfly"), size=(64, 64), mode="bilinear", align_corners=False)


N_2 = [1, 2, 4]


def CLOCK_2(n):
    """The seconds one SmoothGrad call of n samples takes on a machine with a steady clock (the test sets it)."""
    return 0.05 + 0.1 * n


@pytest.fixture(autouse=True)
def steady_clock(monkeypatch):
    """The check of Task 2b times the learner's function once; here that timing is CLOCK_2, so that the timing
    mistakes show the same on a busy shared machine as on a learner's own."""
    import sys
    monkeypatch.setattr(sys.modules["xai_helpers.check.problem2"], "timed",
                        lambda fn, *args, n_samples, **kwargs: CLOCK_2(n_samples))


@pytest.fixture(scope="module")
def butterfly96(model):
    """The butterfly at the model's full input size: its timings are long enough to compare (tenths of seconds)."""
    return model.preprocess("butterfly")


@pytest.fixture(scope="module")
def smoothgrad_2():
    """``A.smoothgrad`` remembered per call: the answers of Task 2b are all built from the same seeded maps of the
    full-size butterfly, computed once for the module (a copy each time, so that no answer changes another's)."""
    maps = {}

    def remembered(image_model, x, target, **kwargs):
        key = (id(image_model), id(x), target, tuple(sorted(kwargs.items())))
        if key not in maps:
            maps[key] = A.smoothgrad(image_model, x, target, **kwargs)
        return maps[key].clone()
    return remembered


@pytest.fixture(scope="module")
def results_2(model, butterfly96, smoothgrad_2):
    return A.experiment(model, butterfly96, "monarch", N_2, clock=CLOCK_2, my_smoothgrad=smoothgrad_2)


@pytest.fixture(scope="module")
def case_6():
    return xh.evaluation.groundtruth.load_case()


@pytest.fixture(scope="module")
def answers_6(case_6):
    """Problem 6a's answer (region, outside_mass) as the solutions build it, and wrong ones."""
    gt = xh.evaluation.groundtruth
    model, scenes = case_6
    found = gt.attribution_maps(model, scenes.images, scenes.labels,
                                methods=("integrated_gradients_black", "vanilla_gradients")).maps
    outside = ~gt.box_masks(scenes.boxes)

    def average(maps, normalise=True, mask=True):
        shares = maps / maps.sum((1, 2), keepdim=True) if normalise else maps
        return (shares * outside).mean(0) if mask else shares.mean(0)

    def around(mass, before=4, after=5):
        row, col = divmod(int(mass.argmax()), 48)
        return (max(row - before, 0), max(col - before, 0), min(row + after, 48), min(col + after, 48))

    def answer(mistake):
        ig = found["integrated_gradients_black"]
        mass = average(ig)
        if mistake is None:
            return around(mass), mass
        if mistake == "numpy floats":
            return np.array(around(mass), dtype=float), mass.numpy()
        if mistake == "not masked":
            return around(mass), average(ig, mask=False)
        if mistake == "signed":
            return around(mass), mass - mass.mean()
        if mistake == "not normalised":
            return around(mass), average(ig * 1000, normalise=False)
        if mistake == "flat":
            return around(mass), mass.flatten()
        if mistake == "off the peak":
            top, left, bottom, right = gt._case_setup().box
            return (top - 1, left - 8, bottom + 1, right - 3), mass
        if mistake == "diffuse maps":
            vanilla = average(found["vanilla_gradients"])
            return around(vanilla, 5, 5), vanilla
        if mistake == "lesson mark":
            return gt.LESSON_MARK.box, mass
        raise KeyError(mistake)
    return answer


@pytest.fixture(scope="module")
def flower96(model):
    from PIL import Image
    from sklearn.datasets import load_sample_image
    x = model.preprocess(Image.fromarray(load_sample_image("flower.jpg")))
    x = F.interpolate(x, size=(96, 96), mode="bilinear", align_corners=False)
    rows, cols = np.mgrid[0:96, 0:96]
    mask = (cols - 48) ** 2 + (rows - 48) ** 2 <= 34 ** 2
    bases = A.baselines(model, x)
    generator = torch.Generator().manual_seed(0)
    ig = {}
    for name in bases:
        attributions = torch.randn((1, 3, 96, 96), generator=generator) + 0.05
        ig[name] = {"attributions": attributions, "output difference": 1.1 * float(attributions.sum())}
    return x, mask, bases, ig


@pytest.fixture(scope="module")
def margins_4(text_model):
    tokens, att = xh.attention_maps(text_model, SENTENCE)
    return A.verb_margin(att, tokens, *WORDS)


@pytest.fixture(scope="module")
def scene(model):
    scene, box = A.make_scene(model)
    import torchvision.transforms.functional as TF
    x = model.normalize(TF.to_tensor(scene).unsqueeze(0).to(model.device))
    return scene, box, x


@pytest.fixture(scope="module")
def maps_5(scene):
    _, box, _ = scene
    generator = torch.Generator().manual_seed(1)
    classes = [698, 323]
    cams = {c: torch.rand((224, 224), generator=generator) for c in classes}
    igs = {c: torch.randn((1, 3, 224, 224), generator=generator) for c in classes}
    return cams, igs, classes, box


def run(task, mistake, request):
    """Build the answer of ``task`` with ``mistake`` (None = the reference) and hand it to its checker."""
    fx = request.getfixturevalue
    c = check()
    if task == "1a":
        fn = {"numpy only": A.box_share_numpy_only, "torch": A.box_share_torch,
              "global": A.with_globals(lambda heatmap, box: A.box_share(the_map, box), the_map=np.ones((4, 4)))
              }.get(mistake) or functools.partial(A.box_share, mistake=mistake)
        return c.problem1_box_share(fn)
    if task == "1b":
        model, x = fx("model"), fx("china96")
        contrast = A.contrasts(model, x, LAYERS_1, CLASSES_1, BOXES_96["lake"],
                               mistake=mistake if mistake in ("sign", "coarse grid", "tower box") else None)
        best = (min if mistake == "best is smallest" else max)(contrast, key=contrast.get)
        if mistake == "missing layer":
            contrast.pop(LAYERS_1[-1])
        if mistake == "list":
            contrast = list(contrast.values())
        return c.problem1_layers(contrast, best, model, x, CLASSES_1, BOXES_96["lake"], LAYERS_1)
    if task == "1c":
        model, x = fx("model"), fx("china96")
        maps, layers = fx("maps_1")
        measured = A.measurements(maps, layers, CLASSES_1, model, x, BOXES_96, mistake=mistake)
        return c.problem1_measurements(measured, maps, CLASSES_1, model, x, BOXES_96, layers)
    if task == "written":
        texts = {None: "Resolution: grid 7 against 224. Noise: roughness 0.61 vs 0.05. Class: r = 0.47; lake 35 %.",
                 "template": "1. Resolution: ...\n2. Noise: ...",
                 "no numbers": "Resolution is coarse, noise is high, the class matters, the lake is seen.",
                 "dict dump": "Resolution, noise, class, lake: {'roughness': 0.61, 'r': 0.47, 'lake': 0.35}",
                 "unrounded": "Resolution 7, noise 0.6123456789, class r = 0.47, lake 35 %.",
                 "number list": "Resolution, noise, class, lake: " + ", ".join(f"{v:.2f}" for v in
                                                                               np.linspace(1.1, 9.9, 30)) + ", 0.47, 0.61, 35 %",
                 "missing aspect": "Resolution: grid 7 against 224. Class: r = 0.47; lake 35 %."}
        return c.written_answer(texts[mistake], problem=1, must_mention=["resolution", "noise", "class", "lake"],
                                measured=[0.47, 0.61, 0.05, 0.35, 7], min_quoted=3)
    if task == "2a":
        fn = {"low default": A.smoothgrad_low_default,
              "global": A.with_globals(A.smoothgrad_global, the_model=fx("model"))}.get(mistake)
        return c.problem2_smoothgrad(fn or functools.partial(A.smoothgrad, mistake=mistake), fx("model"))
    if task == "2b":
        model, x = fx("model"), fx("butterfly96")
        results = A.experiment(model, x, "monarch", N_2, mistake=mistake, clock=CLOCK_2,
                               my_smoothgrad=fx("smoothgrad_2"))
        return c.problem2_experiment(results, model, x, "monarch", N_2, A.smoothgrad)
    if task == "2c":
        results = fx("results_2")
        return c.problem2_plan(A.plan(results, mistake=mistake), results)
    if task == "3a":
        fn = {"low default": A.baselines_low_default,
              "global": A.with_globals(A.baselines_global, x_flower=fx("flower96")[0])}.get(mistake)
        return c.problem3_baselines(fn or functools.partial(A.baselines, mistake=mistake), fx("model"))
    if task == "3c":
        x, mask, bases, ig = fx("flower96")
        return c.problem3_table(A.table(fx("model"), x, bases, ig, mask, mistake=mistake), fx("model"), x, bases, ig,
                                mask)
    if task == "4a":
        return c.problem4_word_attention(functools.partial(A.word_attention, mistake=mistake))
    if task == "4b":
        fn = A.with_globals(A.verb_margin_global, tokens_4=["[CLS]"]) if mistake == "global" else None
        return c.problem4_margins(fn or functools.partial(A.verb_margin, mistake=mistake), fx("text_model"), SENTENCE,
                                  *WORDS)
    if task == "4c":
        margins = fx("margins_4")
        best, held, verdict = A.held_out_answers(margins, fx("text_model"), HELD_OUT, mistake=mistake)
        return c.problem4_held_out(best, held, verdict, margins, fx("text_model"), HELD_OUT)
    if task == "5a":
        model, (_, _, x) = fx("model"), fx("scene")
        typed = A.misclassification_numbers(model, x, "monarch") if mistake == "typed in" else None
        fn = functools.partial(A.misclassification_numbers, mistake=mistake, typed=typed)
        if mistake == "global":
            fn = A.with_globals(A.misclassification_numbers_global, x_scene=x)
        return c.problem5_numbers(fn, model, x, "monarch" if mistake != "given label" else 323)
    if task == "5b":
        cams, igs, classes, box = fx("maps_5")
        found, chance = A.evidence(cams, igs, classes, box, mistake=mistake)
        return c.problem5_evidence(found, chance, cams, igs, classes, box)
    if task == "5c":
        image, box, _ = fx("scene")
        fn = A.with_globals(A.crop_probability_global, BUTTERFLY_BOX=box) if mistake == "global" else None
        return c.problem5_crop(fn or functools.partial(A.crop_probability, mistake=mistake), fx("model"), image, box,
                               "monarch")
    if task == "5d":
        image, box, _ = fx("scene")
        p, largest = A.margin_answers(fx("model"), image, box, "monarch", [0, 16, 48], mistake=mistake)
        if mistake == "string":
            largest = str(largest)
        return c.problem5_margins(p, largest, fx("model"), image, box, "monarch", [0, 16, 48])
    if task == "6a":
        region, mass = fx("answers_6")(mistake)
        return c.problem6_region(region, mass, *fx("case_6"))
    if task == "6b":
        fn = A.with_globals(A.paste_region_global, scenes_images=torch.zeros(3, 1, 48, 48)) if mistake == "global" \
            else functools.partial(A.paste_region, mistake=mistake)
        return c.problem6_paste(fn)
    raise KeyError(task)


TASKS = ["1a", "1b", "1c", "written", "2a", "2b", "2c", "3a", "3c", "4a", "4b", "4c", "5a", "5b", "5c", "5d", "6a",
         "6b"]

WRONG = [
    ("1a", "swapped", "rows and columns are swapped"),
    ("1a", "exclusive", "last row and column are missing"),
    ("1a", "mean inside", "mean value inside the box"),
    ("1a", "not divided", "not divided by the map's total"),
    ("1a", "ratio to chance", "ratio to chance"),
    ("1a", "abs for signed", "negative values returned"),
    ("1a", "TypeError for signed", "raised TypeError"),
    ("1a", "nan for empty", "all-zero map"),
    ("1a", "numpy only", "raised (AttributeError|TypeError)"),
    ("1b", "sign", "wrong sign"),
    ("1b", "coarse grid", "layer's own small grid"),
    ("1b", "best is smallest", "not the layer with the largest contrast"),
    ("1b", "missing layer", "one entry per candidate layer"),
    ("1c", "upsampled grid", "not the grid the map is computed on"),
    ("1c", "other class roughness", "other class's map"),
    ("1c", "self correlation", "compared with itself"),
    ("1c", "wrong box", "share in the lake box"),
    ("written", "no numbers", "quotes 0 of the numbers"),
    ("written", "dict dump", "pasted tensor, dict"),
    ("written", "unrounded", "unrounded numbers"),
    ("written", "number list", "lists numbers instead of quoting"),
    ("written", "missing aspect", "does not discuss 'noise'"),
    ("2a", "sum", "sums the gradients"),
    ("2a", "abs", r"averages \|gradient\|"),
    ("2a", "absolute sigma", "absolute sigma"),
    ("2a", "range 2", "assumes an input range of 2"),
    ("2a", "pixel noise", "pixel units"),
    ("2a", "unseeded", "not seeded"),
    ("2a", "seed ignored", "seed argument is ignored"),
    ("2a", "mean of chunk means", "mean of the chunk means"),
    ("2a", "first chunk only", "only the first chunk"),
    ("2a", "drops last chunk", "last, smaller chunk is dropped"),
    ("2a", "re-seeds per chunk", "re-seeds the generator"),
    ("2a", "ignores target", "explains the top class"),
    ("2a", "probability", "softmax probability"),
    ("2a", "ignores batch_size", "the model saw batches of"),
    ("2a", "2-D", "returned shape"),
    ("2b", "same seed", "both maps come from one seed"),
    ("2b", "swapped seeds", "seed-1 map in place 0"),
    ("2b", "drawn difference", "not rms_difference"),
    ("2b", "typed seconds", "took no longer"),
    ("2c", "textbook slope", "textbook -0.5"),
    ("2c", "log10", "base-10 logarithms"),
    ("2c", "floor", "rounded down"),
    ("2c", "mean abs", r"mean \|value\|"),
    ("2c", "rms of mean", "still holds half of their seed-to-seed noise"),
    ("3a", "normalised zeros", r"all 0s in the model's normalised space.*RGB \(127, 127, 127\)"),
    ("3a", "minus one", "constant -1 in normalised space"),
    ("3a", "normalised ones", "all 1s in the model's normalised space"),
    ("3a", "darkest pixel", "darkest value of this photo"),
    ("3a", "no blur", "the photo itself"),
    ("3a", "uniform blur", "uniform image"),
    ("3a", "narrow kernel", "kernel is too narrow"),
    ("3a", "sigma ignored", "blur_sigma is ignored"),
    ("3a", "randn noise", r"leaves \[0, 1\]"),
    ("3a", "noise not normalised", "drawn but not normalised"),
    ("3a", "unseeded", "same seed gave different noise"),
    ("3a", "seed ignored", "seed argument is ignored"),
    ("3a", "n_noise ignored", "n_noise = 3 asks"),
    ("3c", "normalised distance", "normalised units"),
    ("3c", "swapped", "inside and outside are swapped"),
    ("3c", "abs part", r"uses \|attribution\|"),
    ("3c", "divided by difference", "divided by F"),
    ("3c", "blind flipped", "does not follow from its distance"),
    ("4a", "mean columns", "averaged over its pieces"),
    ("4a", "sum rows", "summed over its pieces' rows"),
    ("4a", "first piece", "first piece is used"),
    ("4a", "keep hashes", "'##'"),
    ("4a", "merge by string", "two occurrences of the same word"),
    ("4a", "drop specials", r"\[CLS\] and \[SEP\] are missing"),
    ("4a", "transposed", "rows and columns are swapped"),
    ("4b", "sign", "sign is flipped"),
    ("4b", "token level", "single tokens"),
    ("4b", "rows", "the verb is the query"),
    ("4b", "mean over heads", "one value per layer and head"),
    ("4c", "own best head", "own best head"),
    ("4c", "verdict flipped", "does not follow the rule"),
    ("4c", "not argmax", r"not the \(layer, head\) with the largest margin"),
    ("5a", "rank from 0", "off by one"),
    ("5a", "percent", "percentage"),
    ("5a", "short labels", "full class name"),
    ("5a", "logits", "softmax over all the model's logits"),
    ("5a", "typed in", "typed in for one input"),
    ("5b", "abs IG", r"uses \|IG\|"),
    ("5b", "signed IG", "signed sum"),
    ("5b", "chance without corners", "chance is the box's share"),
    ("5c", "no clipping", "not clipped to the image"),
    ("5c", "exclusive", "right column and bottom row"),
    ("5c", "preprocess", "preprocess resizes to 256"),
    ("5c", "not normalised", "not normalised like the model's inputs"),
    ("5c", "logit", "logit, not the probability"),
    ("5c", "bicubic", "bicubic"),
    ("5c", "size 224", "resized to 224 pixels"),
    ("5d", "smallest", "largest margin"),
]


#: Further wrong answers, as learners write them: defaults, notebook variables, timings, counts, orders, ...
MORE_WRONG = [
    ("1a", "global", "reads `the_map`"),
    ("1a", "bad message", "does not say what is wrong"),
    ("1a", "sign by sum", "negative values returned"),
    ("1a", "in place", "changed the map it was given"),
    ("1a", "percent", "share is wrong"),
    ("1b", "tower box", "differs from the Grad-CAM maps"),
    ("1b", "list", "`contrast_by_layer` should be a"),
    ("1c", "grid shape", "should be one number"),
    ("1c", "spearman", "not the Pearson correlation"),
    ("2a", "low default", "default of `noise_level`"),
    ("2a", "global", "reads `the_model`"),
    ("2b", "milliseconds", "look like milliseconds"),
    ("2b", "minutes", "the unit is not seconds"),
    ("2b", "both timed", "the timer covers more than the one call"),
    ("2b", "timer before loop", "the timer covers more than the one call"),
    ("2c", "seed 0 only", "seed-0 map alone"),
    ("2c", "unrounded", "not a whole number of samples"),
    ("2c", "mean per sample", "uses the mean time per sample"),
    ("2c", "pooled per sample", "divides the total time by the total number of samples"),
    ("3a", "low default", "default of `blur_sigma`"),
    ("3a", "global", "reads `x_flower`"),
    ("3a", "white 255", "not all 1"),
    ("3c", "max over channels", "not the mean over channels"),
    ("3c", "outside sum only", "does not match its attributions"),
    ("3c", "blind from inside", "does not follow from its distance"),
    ("4a", "swapped pair", "wrong order"),
    ("4a", "renormalised", "W differs"),
    ("4b", "global", "reads `tokens_4`"),
    ("4b", "abs", "differ from W"),
    ("4b", "heads by layers", "one value per layer and head"),
    ("4c", "reordered", "one entry per held-out sentence"),
    ("5a", "global", "reads `x_scene`"),
    ("5a", "predicted probability", "true_probability is wrong"),
    ("5a", "given label", "not the model's own full class name"),
    ("5b", "exclusive cam", "does not match that class's Grad-CAM map"),
    ("5c", "global", "reads `BUTTERFLY_BOX`"),
    ("5c", "margin right only", "probability is wrong"),
    ("5d", "probability", "`largest_margin` should be"),
    ("5d", "percent", "is not crop_probability"),
    ("5d", "string", "`largest_margin` should be"),
    ("6a", "not masked", "adds up to 1"),
    ("6a", "signed", "negative values"),
    ("6a", "not normalised", "not an average of shares"),
    ("6a", "flat", "2-D map"),
    ("6a", "off the peak", "not around the peak"),
    ("6a", "diffuse maps", "times its share of the area"),
    ("6a", "lesson mark", "changes the prediction"),
    ("6b", "global", "reads `scenes_images`"),
    ("6b", "rows only", "pixels outside the region changed"),
    ("6b", "inclusive", "pixels outside the region changed"),
]

#: Correct answers written otherwise than the solutions: each must pass.
ALTERNATIVES = [("1a", "torch"), ("2a", "one at a time"), ("2b", "numpy maps"), ("2c", "np.ceil"),
                ("2c", "noise removed"), ("3a", "default generator"), ("4a", "lists"), ("4b", "tensor"),
                ("4b", "lists"), ("5a", "tensor indices"), ("5c", "resized_crop"), ("6a", "numpy floats"),
                ("6b", "numpy")]


@pytest.mark.parametrize("task, mistake, message", MORE_WRONG, ids=[f"{t}-{m}" for t, m, _ in MORE_WRONG])
def test_more_wrong_answers_are_refused_with_their_message(task, mistake, message, request, capsys):
    with pytest.raises(check().CheckFailed, match=message) as info:
        run(task, mistake, request)
    assert not isinstance(info.value, check().NotAnsweredYet)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("task, alternative", ALTERNATIVES, ids=[f"{t}-{a}" for t, a in ALTERNATIVES])
def test_a_correct_alternative_passes(task, alternative, request, capsys):
    assert run(task, alternative, request) is None
    assert "\u2713" in capsys.readouterr().out


def test_the_new_catalogue_covers_every_problem():
    per_problem = {p: sum(t.startswith(p) for t, _, _ in MORE_WRONG) for p in "123456"}
    assert all(n >= 6 for n in per_problem.values()), per_problem
    assert len(MORE_WRONG) >= 45 and len(ALTERNATIVES) >= 10


@pytest.mark.parametrize("task", TASKS)
def test_reference_answer_passes(task, request, capsys):
    assert run(task, None, request) is None            # checkers return None: a value would be a partial score
    out = capsys.readouterr()
    assert "\u2713" in out.out and out.err == ""      # nbgrader scores a check cell 0 if it writes to stderr


@pytest.mark.parametrize("task, mistake, message", WRONG, ids=[f"{t}-{m}" for t, m, _ in WRONG])
def test_wrong_answer_is_refused_with_its_message(task, mistake, message, request):
    with pytest.raises(check().CheckFailed, match=message) as info:
        run(task, mistake, request)
    assert not isinstance(info.value, check().NotAnsweredYet)


def test_the_catalogue_is_large_and_covers_every_task():
    assert len(WRONG) >= 40
    assert {t for t, _, _ in WRONG + MORE_WRONG} == set(TASKS)


@pytest.mark.parametrize("checker, args", [
    ("problem1_box_share", ()), ("problem2_smoothgrad", ("model",)), ("problem3_baselines", ("model",)),
    ("problem4_word_attention", ()), ("problem5_crop", ("model", "scene-image", "scene-box", "monarch")),
])
def test_a_function_still_raising_not_implemented_is_not_answered_yet(checker, args, request):
    def stub(*a, **k):
        raise NotImplementedError()
    values = {"model": lambda: request.getfixturevalue("model"),
              "scene-image": lambda: request.getfixturevalue("scene")[0],
              "scene-box": lambda: request.getfixturevalue("scene")[1]}
    resolved = [values[a]() if a in values else a for a in args]
    with pytest.raises(check().NotAnsweredYet, match="NotImplementedError"):
        getattr(check(), checker)(stub, *resolved)
