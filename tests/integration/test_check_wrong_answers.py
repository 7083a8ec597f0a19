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


@pytest.fixture(scope="module")
def results_2(model, butterfly64):
    return A.experiment(model, butterfly64, "monarch", [1, 2, 4])


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
        fn = A.box_share_numpy_only if mistake == "numpy only" else functools.partial(A.box_share, mistake=mistake)
        return c.problem1_box_share(fn)
    if task == "1b":
        model, x = fx("model"), fx("china96")
        contrast = A.contrasts(model, x, LAYERS_1, CLASSES_1, BOXES_96["lake"],
                               mistake=mistake if mistake in ("sign", "coarse grid") else None)
        best = (min if mistake == "best is smallest" else max)(contrast, key=contrast.get)
        if mistake == "missing layer":
            contrast.pop(LAYERS_1[-1])
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
                                                                               np.linspace(1.1, 9.9, 30)) + ", 0.47, 0.61",
                 "missing aspect": "Resolution: grid 7 against 224. Class: r = 0.47; lake 35 %."}
        return c.written_answer(texts[mistake], problem=1, must_mention=["resolution", "noise", "class", "lake"],
                                measured=[0.47, 0.61, 0.05, 0.35, 7], min_quoted=3)
    if task == "2a":
        return c.problem2_smoothgrad(functools.partial(A.smoothgrad, mistake=mistake), fx("model"))
    if task == "2b":
        model, x = fx("model"), fx("butterfly64")
        results = fx("results_2") if mistake is None else A.experiment(model, x, "monarch", [1, 2, 4], mistake=mistake)
        return c.problem2_experiment(results, model, x, "monarch", [1, 2, 4])
    if task == "2c":
        results = fx("results_2")
        return c.problem2_plan(A.plan(results, mistake=mistake), results)
    if task == "3a":
        return c.problem3_baselines(functools.partial(A.baselines, mistake=mistake), fx("model"))
    if task == "3c":
        x, mask, bases, ig = fx("flower96")
        return c.problem3_table(A.table(fx("model"), x, bases, ig, mask, mistake=mistake), fx("model"), x, bases, ig,
                                mask)
    if task == "4a":
        return c.problem4_word_attention(functools.partial(A.word_attention, mistake=mistake))
    if task == "4b":
        return c.problem4_margins(functools.partial(A.verb_margin, mistake=mistake), fx("text_model"), SENTENCE, *WORDS)
    if task == "4c":
        margins = fx("margins_4")
        best, held, verdict = A.held_out_answers(margins, fx("text_model"), HELD_OUT, mistake=mistake)
        return c.problem4_held_out(best, held, verdict, margins, fx("text_model"), HELD_OUT)
    if task == "5a":
        model, (_, _, x) = fx("model"), fx("scene")
        typed = A.misclassification_numbers(model, x, "monarch") if mistake == "typed in" else None
        fn = functools.partial(A.misclassification_numbers, mistake=mistake, typed=typed)
        return c.problem5_numbers(fn, model, x, "monarch")
    if task == "5b":
        cams, igs, classes, box = fx("maps_5")
        found, chance = A.evidence(cams, igs, classes, box, mistake=mistake)
        return c.problem5_evidence(found, chance, cams, igs, classes, box)
    if task == "5c":
        image, box, _ = fx("scene")
        return c.problem5_crop(functools.partial(A.crop_probability, mistake=mistake), fx("model"), image, box, "monarch")
    if task == "5d":
        image, box, _ = fx("scene")
        p, largest = A.margin_answers(fx("model"), image, box, "monarch", [0, 16, 48], mistake=mistake)
        return c.problem5_margins(p, largest, fx("model"), image, box, "monarch", [0, 16, 48])
    raise KeyError(task)


TASKS = ["1a", "1b", "1c", "written", "2a", "2b", "2c", "3a", "3c", "4a", "4b", "4c", "5a", "5b", "5c", "5d"]

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
    ("written", "dict dump", "pasted tensor/dict"),
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
    ("2c", "log10", "log10"),
    ("2c", "floor", "rounded down"),
    ("2c", "mean abs", r"mean \|value\|"),
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
    ("5c", "no clipping", "clip it to the image"),
    ("5c", "exclusive", "right and bottom edges"),
    ("5c", "preprocess", "preprocess resizes to 256"),
    ("5c", "not normalised", "not normalised like the model's inputs"),
    ("5c", "logit", "logit, not the probability"),
    ("5c", "bicubic", "bicubic"),
    ("5c", "size 224", "resized to 224 pixels"),
    ("5d", "smallest", "largest margin"),
]


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
    assert {t for t, _, _ in WRONG} == set(TASKS)


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
