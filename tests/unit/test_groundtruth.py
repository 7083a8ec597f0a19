"""Ground truth for explanations (xai_helpers.groundtruth): the mark, the scenes, reproducible training,
batched attributions equal to the helpers' own per-scene results, the scores, the shipped CNNs and the
Problem-6 checker."""
import sys
from pathlib import Path

import pytest
import torch

import xai_helpers as xh
from xai_helpers import check as check6
from xai_helpers.evaluation import groundtruth as gt
from xai_helpers.models.base import ModelUnavailableError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import train_groundtruth_cnns as training  # noqa: E402  (the training code lives in tools/, not in the package)


pytestmark = pytest.mark.usefixtures("one_thread")   # the 16 k-parameter CNN (tests/conftest.py)


@pytest.fixture(scope="module")
def random_cnn():
    torch.manual_seed(0)
    net = gt.DigitCNN().eval()
    with torch.no_grad():                       # non-trivial batch-norm statistics
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return net


@pytest.fixture(scope="module")
def scenes():
    return gt.make_scenes(12, marks="own")


# --- the mark and the scenes ---------------------------------------------------------------------------
def test_mark_patterns_differ_by_class_and_sit_in_their_box():
    p = gt.LESSON_MARK.patterns
    assert p.shape == (10, 4, 4) and set(p.unique().tolist()) == {0.0, 1.0}
    distances = (p.flatten(1)[:, None] != p.flatten(1)[None]).sum(-1)
    assert distances[~torch.eye(10, dtype=torch.bool)].min() >= 5          # no two classes look alike
    blank = torch.zeros(10, 1, 48, 48)
    marked = gt.add_mark(blank, gt.LESSON_MARK, torch.arange(10), seed=0)
    top, left, bottom, right = gt.LESSON_MARK.box
    inside = marked[:, 0, top:bottom, left:right]
    assert ((inside > 0.5) == (p > 0.5)).all()                             # the pattern, under pixel noise
    outside = marked.clone()
    outside[:, :, max(top - 1, 0):bottom + 1, max(left - 1, 0):right + 1] = 0
    assert outside.abs().max() == 0                                        # nothing painted elsewhere
    assert torch.equal(gt.add_mark(blank, gt.LESSON_MARK, torch.full((10,), -1)), blank)


def test_scenes_share_digits_and_keep_the_digit_clear_of_the_mark():
    clean, own, other = (gt.make_scenes(50, marks=k) for k in ("none", "own", "other"))
    for s in (own, other):
        assert torch.equal(s.labels, clean.labels) and torch.equal(s.boxes, clean.boxes)
    assert (clean.mark_classes == -1).all() and torch.equal(own.mark_classes, own.labels)
    assert (other.mark_classes != other.labels).all() and other.mark_classes.unique().numel() == 10
    assert gt._clear_of(clean.boxes, gt.LESSON_MARK).all()
    masks = gt.box_masks(own.mark_boxes) & gt.box_masks(own.boxes)
    assert not masks.any()                                                 # mark and digit never overlap
    # the mark changes only its square (+1 px margin); the digit's pixels are untouched
    changed = (own.images != clean.images)[:, 0].any(0)
    top, left, bottom, right = gt.LESSON_MARK.box
    assert changed.nonzero().min(0).values.tolist() >= [top - 1, left - 1]
    assert changed.nonzero().max(0).values.tolist() <= [bottom, right]
    assert torch.equal(gt.make_scenes(50, marks="other").images, other.images)      # reproducible


# --- bad input ------------------------------------------------------------------------------------------------
# cheap: nothing is loaded, training runs 1-2 epochs on <= 96 scenes
def test_bad_inputs_get_clear_errors(random_cnn, scenes):
    with pytest.raises(ValueError, match="N x 1 x 48 x 48"):
        gt.attribution_maps(random_cnn, torch.rand(2, 1, 32, 32), [0, 1])
    with pytest.raises(ValueError, match="N x 1 x 48 x 48"):
        gt.predict_classes(random_cnn, torch.rand(2, 3, 48, 48))
    with pytest.raises(TypeError, match="floats"):
        gt.add_mark(torch.zeros(2, 1, 48, 48, dtype=torch.uint8), gt.LESSON_MARK, [0, 1])
    with pytest.raises(ValueError, match="out of range"):
        gt.attribution_maps(random_cnn, scenes.images[:2], [3, 10], methods=("vanilla_gradients",))
    with pytest.raises(ValueError, match="one per scene"):
        gt.attribution_maps(random_cnn, scenes.images[:2], [3, 4, 5], methods=("vanilla_gradients",))
    with pytest.raises(ValueError, match="Unknown method"):
        gt.attribution_maps(random_cnn, scenes.images[:2], [3, 4], methods=("lime",))
    with pytest.raises(ValueError, match="strength 0.7.*0, 0.5, 0.9, 1"):
        gt.load_digit_cnn(0.7)
    with pytest.raises(ValueError, match="strength"):
        gt.load_digit_cnn("strong")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        training.train_digit_cnn(1.5)
    with pytest.raises(ValueError, match="'none', 'own' or 'other'"):
        gt.make_scenes(10, marks="some")
    with pytest.raises(ValueError, match="n must be an integer from 1 to"):
        gt.make_scenes(10_000)
    with pytest.raises(ValueError, match="inside the 48x48"):
        gt.make_mark(0, 46, 0)
    with pytest.raises(ValueError, match="non-negative"):
        gt.mass_in_boxes(-torch.ones(1, 48, 48), torch.tensor([[0, 0, 4, 4]]))
    with pytest.raises(ValueError, match="one map per scene"):
        gt.pointing_hits(torch.ones(2, 48, 48), torch.tensor([[0, 0, 4, 4]]))


# cheap: nothing is loaded, training runs 1-2 epochs on <= 96 scenes
def test_a_missing_checkpoint_names_the_rebuild_command(monkeypatch, tmp_path):
    monkeypatch.setattr(gt.cnn, "GROUNDTRUTH_DIR", tmp_path)
    gt._load.cache_clear()
    try:
        with pytest.raises(ModelUnavailableError, match="python tools/train_groundtruth_cnns.py"):
            gt.load_digit_cnn(0.5)
    finally:
        gt._load.cache_clear()


# --- training: reproducible, on a reduced setting ---------------------------------------------------------
def test_the_package_does_not_train():
    assert not hasattr(gt, "train_digit_cnn") and not hasattr(gt, "save_digit_cnn")


# cheap: nothing is loaded, training runs 1-2 epochs on <= 96 scenes
def test_training_is_reproducible_bit_for_bit():
    """Two runs with the same seed (one thread) give identical weights; another seed does not. The full
    training runs only in tools/train_groundtruth_cnns.py (its --verify compares with the shipped files)."""
    kwargs = dict(strength=0.5, epochs=1, n_train=96, log=None)
    a, info = training.train_digit_cnn(**kwargs)
    b, _ = training.train_digit_cnn(**kwargs)
    c, _ = training.train_digit_cnn(seed=1, **kwargs)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa), "same seed, one thread: the weights must be identical"
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    assert info["n_train"] == 96 and info["strength"] == 0.5 and info["threads"] == 1


# cheap: nothing is loaded, training runs 1-2 epochs on <= 96 scenes
def test_training_marks_the_chosen_share_of_scenes(monkeypatch):
    seen = []
    real = gt.add_mark

    def spy(images, mark, classes, seed=0):
        seen.append(torch.as_tensor(classes))
        return real(images, mark, classes, seed)
    monkeypatch.setattr(gt, "add_mark", spy)
    training.train_digit_cnn(0.9, epochs=2, n_train=50, log=None)
    assert [int((c >= 0).sum()) for c in seen] == [45, 45]


# --- batched attributions equal the helpers' own, scene by scene -----------------------------------------
def test_batched_maps_equal_per_scene_helper_calls(random_cnn, scenes):
    x, t = scenes.images[:5], scenes.labels[:5]
    methods = ("vanilla_gradients", "gradient_x_input", "integrated_gradients_black", "integrated_gradients_blur",
               "grad_cam", "grad_cam_plus_plus")
    r = gt.attribution_maps(random_cnn, x, t, methods=methods, n_steps=6, chunk=3)
    for i in range(5):
        xi, ti = x[i:i + 1], int(t[i])
        torch.testing.assert_close(r.maps["vanilla_gradients"][i], xh.vanilla_gradients(random_cnn, xi, ti)[0, 0].abs())
        torch.testing.assert_close(r.maps["gradient_x_input"][i], xh.gradient_x_input(random_cnn, xi, ti)[0, 0].abs())
        ig, delta = xh.integrated_gradients(random_cnn, xi, ti, baseline=torch.zeros_like(xi), n_steps=6)
        torch.testing.assert_close(r.maps["integrated_gradients_black"][i], ig[0, 0].abs(), rtol=1e-4, atol=1e-6)
        blurred = gt._blurred(xi, gt.SCENE_BLUR_SIGMA)
        ig, _ = xh.integrated_gradients(random_cnn, xi, ti, baseline=blurred, n_steps=6)
        torch.testing.assert_close(r.maps["integrated_gradients_blur"][i], ig[0, 0].abs(), rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(r.maps["grad_cam"][i], xh.grad_cam(random_cnn, xi, ti, layer="block3"))
    assert r.ig_error["black"].shape == (5,) and (r.ig_error["black"] >= 0).all()


def test_batched_smoothgrad_is_the_mean_gradient_over_the_same_noisy_scenes(random_cnn, scenes):
    x, t = scenes.images[:4], scenes.labels[:4]
    r = gt.attribution_maps(random_cnn, x, t, methods=("smoothgrad",), n_samples=6, chunk=4, per_pass=8)
    sigma = xh.methods.noise_sigma(x, gt.NOISE_LEVEL)          # over the chunk: these scenes all span [0, 1]
    noise = torch.randn((6, 4, 48, 48), generator=torch.Generator().manual_seed(0)) * sigma
    for i in range(4):
        noisy = (x[i, 0] + noise[:, i])[:, None]
        g = xh.vanilla_gradients(random_cnn, noisy[:1], int(t[i]))  # check one copy the helper's way ...
        expected = torch.stack([xh.vanilla_gradients(random_cnn, noisy[k:k + 1], int(t[i]))[0, 0]
                                for k in range(6)]).mean(0)
        torch.testing.assert_close(r.maps["smoothgrad"][i], expected.abs(), rtol=1e-4, atol=1e-7)
        assert g.shape == (1, 1, 48, 48)


def test_gradcam_at_the_last_block_is_cam(random_cnn, scenes):
    """Global average pooling + one linear layer: Grad-CAM's channel weights are the head's weights / 144."""
    compared = 0
    for i in range(len(scenes)):
        x = scenes.images[i:i + 1]
        for c in range(10):
            with torch.no_grad():
                cam = torch.relu(torch.einsum("k,khw->hw", random_cnn.head.weight[c], random_cnn.features(x)[0]))
            if cam.max() <= 0:
                assert xh.grad_cam(random_cnn, x, c, layer="block3").abs().max() == 0     # empty map: zeros, not NaN
                continue
            cam = torch.nn.functional.interpolate(cam[None, None], size=(48, 48), mode="bilinear",
                                                  align_corners=False)[0, 0]
            torch.testing.assert_close(xh.grad_cam(random_cnn, x, c, layer="block3"), cam / cam.max())
            compared += 1
        if compared >= 5:
            break
    assert compared >= 5


# --- scores ---------------------------------------------------------------------------------------------------
def test_scores_on_maps_with_known_answers(scenes):
    boxes = scenes.boxes[:3]
    on_digit = gt.box_masks(boxes).float()
    uniform = torch.ones(3, 48, 48)
    torch.testing.assert_close(gt.mass_in_boxes(on_digit, boxes), torch.ones(3))
    torch.testing.assert_close(gt.mass_in_boxes(uniform, boxes), gt.box_masks(boxes).float().mean((1, 2)))
    assert gt.pointing_hits(on_digit + 0.01 * torch.rand(3, 48, 48), boxes).all()
    assert not gt.pointing_hits(uniform, boxes).any()                      # a flat map points nowhere
    table = gt.score_maps({"digit": on_digit, "uniform": uniform}, scenes[:3])
    assert table.loc["digit", "digit / chance"] > 5 and abs(table.loc["uniform", "digit / chance"] - 1) < 1e-6
    assert table.loc["digit", "mass on mark"] == 0 and table.loc["uniform", "mark / chance"] == pytest.approx(1)


# --- on an accelerator ----------------------------------------------------------------------------------------
def test_attribution_maps_and_predictions_run_on_a_device(random_cnn, scenes):
    """On a fake accelerator (tests/fake_device.py: CPU data that refuses CPU/device mixing, float64 and
    .numpy() as a GPU does) every method gives the CPU's maps, returned on the CPU."""
    from fake_device import FactoriesOnDevice, OnDevice, to_fake_device
    x, t = scenes.images[:3], scenes.labels[:3]
    expected = gt.attribution_maps(random_cnn, x, t, n_steps=4, n_samples=3)
    fake = to_fake_device(random_cnn)
    with FactoriesOnDevice():
        got = gt.attribution_maps(fake, x, t, n_steps=4, n_samples=3)
        predicted = gt.predict_classes(fake, x)
    for name in gt.SCORED_METHODS:
        assert not isinstance(got.maps[name], OnDevice) and got.maps[name].device.type == "cpu"
        torch.testing.assert_close(got.maps[name], expected.maps[name], rtol=1e-4, atol=1e-6)
    assert torch.equal(predicted, gt.predict_classes(random_cnn, x))


def test_a_model_in_train_mode_is_explained_in_eval_mode_and_left_as_it_was(random_cnn, scenes):
    x, t = scenes.images[:2], scenes.labels[:2]
    methods = ("vanilla_gradients", "integrated_gradients_black", "grad_cam")
    expected = gt.attribution_maps(random_cnn, x, t, methods=methods, n_steps=4)
    random_cnn.train()
    try:
        with pytest.warns(UserWarning, match="train mode"):
            got = gt.attribution_maps(random_cnn, x, t, methods=methods, n_steps=4)
        assert random_cnn.training and all(m.training for m in random_cnn.modules())
    finally:
        random_cnn.eval()
    for name in methods:
        torch.testing.assert_close(got.maps[name], expected.maps[name])


def _paste_in_place(images, region, donors):
    top, left, bottom, right = region
    images[:, :, top:bottom, left:right] = images[torch.as_tensor(donors)][:, :, top:bottom, left:right].clone()
    return images


def _paste_inclusive(images, region, donors):          # bottom/right taken as included: one row/column too many
    top, left, bottom, right = region
    out = images.clone()
    out[:, :, top:bottom + 1, left:right + 1] = images[torch.as_tensor(donors)][:, :, top:bottom + 1, left:right + 1]
    return out


def _paste_nothing(images, region, donors):
    return images.clone()


def _paste_transposed(images, region, donors):          # rows and columns swapped
    top, left, bottom, right = region
    out = images.clone()
    out[:, :, left:right, top:bottom] = images[torch.as_tensor(donors)][:, :, left:right, top:bottom]
    return out


@pytest.mark.parametrize("wrong, message", [(_paste_in_place, "in place"), (_paste_inclusive, "outside the region"),
                                            (_paste_nothing, "unchanged"), (_paste_transposed, "outside the region"),
                                            (lambda images, region, donors: None, "returned None"),
                                            ("not a function", "expected your function")])
def test_problem6_paste_checker_names_the_mistake(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check6.problem6_paste(wrong)


def test_problem6_paste_checker_accepts_a_right_answer(capsys):
    def paste(images, region, donors):
        top, left, bottom, right = region
        out = images.clone()
        out[:, :, top:bottom, left:right] = images[donors][:, :, top:bottom, left:right]
        return out
    assert check6.problem6_paste(paste) is None and "\u2713" in capsys.readouterr().out


# --- the mark score at Grad-CAM's resolution and the controls drawn per model ---------------------------------
def test_the_mark_score_at_the_cam_resolution_does_not_penalise_a_coarse_map():
    s = gt.make_scenes(4, marks="own")
    exact = gt.box_masks(s.mark_boxes).float()                              # all mass on the 4x4 mark
    coarse = torch.zeros_like(exact)
    coarse[:, 0:8, 0:8] = 1.0                                               # all mass on the 4 cells it touches
    maps = {"exact": exact, "coarse": coarse, "uniform": torch.ones_like(exact)}
    by_pixel, by_cell = gt.mark_scores(maps, s, cell=1), gt.mark_scores(maps, s)
    assert by_pixel["exact"].eq(144).all() and by_pixel["coarse"].eq(36).all()     # the box penalises the coarse map
    assert by_cell["exact"].eq(36).all() and by_cell["coarse"].eq(36).all()       # the cells do not
    assert by_cell["uniform"].sub(1).abs().max() < 1e-6 and by_pixel["uniform"].sub(1).abs().max() < 1e-6
    assert gt.mark_scores(maps, s, relative=False)["coarse"].eq(1).all()
    with pytest.raises(ValueError, match="divide"):
        gt.mark_scores(maps, s, cell=5)
    with pytest.raises(ValueError, match="carry no mark"):
        gt.mark_scores(maps, gt.make_scenes(4))


def test_random_weights_cnns_are_seeded_and_leave_the_callers_random_state():
    state = torch.random.get_rng_state()
    a, b, c = gt.random_digit_cnn(1), gt.random_digit_cnn(1), gt.random_digit_cnn(2)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.head.weight, c.head.weight)
    assert not a.training and not any(p.requires_grad for p in a.parameters())


class _ReadsTheCorner(torch.nn.Module):
    """A CNN whose every logit also reads the corner where the mark sits: a hand-made shortcut."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x) + 50 * x[:, :, 1:5, 1:5].mean((1, 2, 3))[:, None]


def test_a_control_drawn_per_model_stays_flat_and_the_check_fails_for_a_map_that_reads_the_model():
    """The lesson's control check: the control's mark score on the shortcut CNN and on the clean CNN, compared
    scene by scene, must be a tie. Drawn once for both CNNs it is the same map (difference exactly 0: the check
    cannot fail); drawn per CNN it is a real test; a map that depends on the model fails it."""
    s = gt.make_scenes(40, marks="own")
    clean, shortcut = gt.random_digit_cnn(0), _ReadsTheCorner(gt.random_digit_cnn(0)).eval()
    methods = ["vanilla_gradients", "random_map"]

    def scores(model, seed):
        return gt.mark_scores(gt.attribution_maps(model, s.images, s.labels, methods, seed=seed), s)

    def flat(a, b, method):
        return xh.evaluation.compare(a[method].to_numpy(), b[method].to_numpy(), n_boot=1000).tie

    same = scores(clean, 0), scores(shortcut, 0)
    per_model = scores(clean, 1000), scores(shortcut, 2000)
    assert (same[0]["random_map"] == same[1]["random_map"]).all()              # one draw for both: cannot fail
    assert not (per_model[0]["random_map"] == per_model[1]["random_map"]).all()
    assert flat(*per_model, "random_map")                                      # drawn per model: flat
    assert not flat(*per_model, "vanilla_gradients")                           # reads the model: the check fails
    assert per_model[1]["vanilla_gradients"].mean() > 5 * per_model[0]["vanilla_gradients"].mean()
