"""Checkers of Problem 2 (chapter 4 exercises): SmoothGrad written by the learner, and how many samples a photo needs.

``reference_smoothgrad`` and ``TARGET_RATIO`` serve the checkers (not part of ``__all__``; importable from here).
"""
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch

from ..models import ImageModel
from .arguments import PhotoLike, answers_checked, class_of, image_batch, photo_of
from .common import (as_array, batch_sizes, call, call_for_result, close, count, defaults_mistake, fail, first_mistake,
                     imagenet_normalised, machine_is_busy, memo, number, numbers_of, ok, one_thread, quiet, require,
                     require_fields, require_keys, seeding_mistake, small_input, target_index, timed, timing_mistake)
from .measures import rms_difference

__all__ = ["problem2_smoothgrad", "problem2_experiment", "problem2_plan"]

#: The plan's goal: two seeds' signed maps differ (RMS) by at most this fraction of the map's RMS.
TARGET_RATIO: float = 0.5
_DEFAULTS = {"n_samples": 16, "noise_level": 0.15, "seed": 0, "batch_size": 4}


def _noise(x, n, seed):
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randn((n, *x.shape[1:]), generator=generator).to(x.device)


def _gradients(image_model, points, target, chunk=8, score="logit"):
    """Input gradients of the target's logit (or probability) at each point, ``chunk`` points per pass."""
    grads = []
    with quiet(), torch.enable_grad():
        for part in points.split(chunk):
            part = part.detach().requires_grad_(True)
            out = image_model.model(part)
            out = out.softmax(-1) if score == "probability" else out
            (g,) = torch.autograd.grad(out[:, target].sum(), part)
            grads.append(g)
    return torch.cat(grads)


@memo
def reference_smoothgrad(image_model, x, target, n_samples=16, noise_level=0.15, seed=0, batch_size=4):
    """Mean gradient of the target logit over ``n_samples`` copies x + sigma * N(0, 1), sigma relative to the
    range of x; the noise is one draw of shape (n_samples, C, H, W) from a generator seeded with ``seed``."""
    target = target_index(image_model, target)
    sigma = float(noise_level) * float(x.max() - x.min())
    points = x.detach() + _noise(x, n_samples, seed) * sigma
    return _gradients(image_model, points, target, chunk=batch_size).mean(0, keepdim=True)


def _wrong_maps(image_model, x, target, n, level, seed, batch):
    """The classic wrong SmoothGrad maps, each with the message that names its mistake; each is computed only
    when asked for (a generator), the cheap ones first."""
    t = target_index(image_model, target)
    sigma = level * float(x.max() - x.min())

    def mean_gradient(points, score="logit"):
        return _gradients(image_model, points, t, score=score).mean(0, keepdim=True)

    grads = _gradients(image_model, x.detach() + _noise(x, n, seed) * sigma, t)
    chunks = grads.split(batch)
    yield grads.sum(0, keepdim=True), f"the map is {n} times too large: it sums the gradients instead of averaging them"
    yield grads.abs().mean(0, keepdim=True), ("the map averages |gradient| (all values >= 0); SmoothGrad averages the "
                                              "signed gradients, magnitudes are taken only for drawing")
    yield (torch.stack([c.mean(0) for c in chunks]).mean(0, keepdim=True),
           "the map is the mean of the chunk means: with a smaller last chunk that weighs its copies more than the "
           "others")
    yield chunks[0].mean(0, keepdim=True), f"only the first chunk of {batch} copies is used"
    yield (torch.cat(chunks[:-1]).mean(0, keepdim=True) if len(chunks) > 1 else None,
           "the last, smaller chunk is dropped: fewer than n_samples copies are averaged")
    for s, message in ((level, "the noise's sigma is the noise level itself (an absolute sigma), not relative to the "
                               "input's range as the task defines it"),
                       (2 * level, "sigma assumes an input range of 2 (true only for the course model's normalisation, "
                                   "with mean and std about 0.5), not the range of the x it is given")):
        if abs(s - sigma) > 1e-6 * sigma:
            yield mean_gradient(x.detach() + _noise(x, n, seed) * s), message
    std = torch.as_tensor(image_model.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    yield (mean_gradient(x.detach() + _noise(x, n, seed) * level / std),
           "the noise is noise_level in pixel units (added before normalising), while the task defines sigma on "
           "the model's input")
    if len(chunks) > 1:
        yield (mean_gradient(x.detach() + torch.cat([_noise(x, len(c), seed) for c in chunks]) * sigma),
               "every chunk re-seeds the generator, so each chunk repeats the same noise")
    with torch.no_grad():
        top = int(image_model.model(x.detach()).argmax())
    if top != t:
        yield (reference_smoothgrad(image_model, x, top, n, level, seed),
               "the map explains the top class, not the target passed in")
    yield (mean_gradient(x.detach() + _noise(x, n, seed) * sigma, score="probability"),
           "the map is the gradient of the softmax probability; SmoothGrad here averages gradients of the logit")


def _signed_map(my_smoothgrad, label, model, xi, target, **kwargs):
    """The learner's SmoothGrad map for one call, checked to be a tensor shaped like the input."""
    got = call_for_result(my_smoothgrad, label, "my_smoothgrad", "the averaged gradient", model, xi, target, **kwargs)
    if not isinstance(got, torch.Tensor):
        fail(label, f"my_smoothgrad should return a torch.Tensor, got {type(got).__name__}.")
    if tuple(got.shape) != tuple(xi.shape):
        fail(label, f"my_smoothgrad returned shape {tuple(got.shape)} for an input of shape {tuple(xi.shape)}: "
                    "return the signed mean gradient with the channels and the batch dimension of 1 kept.")
    return got.detach()


@answers_checked("Problem 2a", answers=("my_smoothgrad",))
def problem2_smoothgrad(my_smoothgrad: Callable, image_model: ImageModel, photo: PhotoLike = "coffee") -> None:
    """Check Task 2a of Problem 2: the learner's SmoothGrad, averaged over seeded noisy copies, in chunks.

    ``my_smoothgrad(image_model, x, target, n_samples, noise_level, seed, batch_size)`` must return the signed
    1x3xHxW mean gradient of the target's logit. Tested at several sample counts (one above the chunk size, with
    a smaller last chunk), noise levels (0 gives the plain gradient), seeds and targets (index and name), on the
    course model and on the same network with ImageNet mean/std, on 32x32 inputs so that the check is quick.

    Args:
        my_smoothgrad: The learner's SmoothGrad function.
        image_model: The course's image model (``xh.load_image_model()``).
        photo: The photo the maps are computed on (a course photo's name, a file or a PIL image).

    Raises:
        CheckFailed: A map differs from the reference; the message names the mistake (a sum instead of a mean,
            an absolute sigma, unseeded noise, ...).
        NotAnsweredYet: ``my_smoothgrad`` is None or still raises NotImplementedError.

    Example:
        Running the check calls the pretrained model; a function not written yet is answered at once:

        >>> import xai_helpers as xh
        >>> import xai_helpers.check as check
        >>> def my_smoothgrad(image_model, x, target, n_samples=16, noise_level=0.15, seed=0, batch_size=4):
        ...     raise NotImplementedError()
        >>> check.problem2_smoothgrad(my_smoothgrad, xh.load_image_model())
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.NotAnsweredYet: Problem 2a: the function still raises NotImplementedError -- ...
    """
    label = "Problem 2a"
    message = defaults_mistake(my_smoothgrad, _DEFAULTS, "my_smoothgrad")
    if message:
        fail(label, message + ".")
    with one_thread():           # every map of this check is computed here, from 32 x 32 inputs
        _check_smoothgrad(my_smoothgrad, image_model, photo, label)


def _check_smoothgrad(my_smoothgrad, image_model, photo, label):
    """The body of ``problem2_smoothgrad``: the learner's maps against the references, mistakes named."""
    photo = photo_of(photo, label)
    other = imagenet_normalised(image_model)
    x, x_other = small_input(image_model, photo, 32), small_input(other, photo, 32)
    with torch.no_grad():
        ranked = image_model.model(x).argsort(descending=True)[0].tolist()
        ranked_other = other.model(x_other).argsort(descending=True)[0].tolist()
    cases = [(image_model, x, ranked[0], 3, 0.15, 0, 8), (image_model, x, image_model.labels[ranked[2]], 10, 0.3, 1, 4),
             (image_model, x, ranked[1], 2, 0.0, 3, 2), (other, x_other, ranked_other[1], 5, 0.1, 2, 2)]

    def draw(seed):
        return _signed_map(my_smoothgrad, label, image_model, x, ranked[0], n_samples=3, noise_level=0.15, seed=seed,
                           batch_size=8)

    message = seeding_mistake(draw(0), draw, 0, 5, "maps")
    if message:
        fail(label, message + ".")
    for model, xi, target, n, level, seed, batch in cases:
        where = (f"n_samples={n}, noise_level={level}, seed={seed}, batch_size={batch}, target={target!r}"
                 + (", ImageNet mean/std" if model is other else ""))
        with batch_sizes(model.model) as sizes:
            got = _signed_map(my_smoothgrad, label, model, xi, target, n_samples=n, noise_level=level, seed=seed,
                              batch_size=batch)
        ref = reference_smoothgrad(model, xi, target, n, level, seed)
        if not close(got, ref, 1e-3):
            message = first_mistake(_wrong_maps(model, xi, target, n, level, seed, batch),
                                    lambda wrong: close(got, wrong, 1e-3))
            fail(label, f"with {where}: " + (message or "the map differs from the mean gradient of the target's "
                                                        "logit over the seeded noisy copies") + ".")
        if max(sizes, default=0) > batch or sum(sizes) < n:
            fail(label, f"with {where} the model saw batches of {sizes}: process the copies batch_size at a time "
                        "(this bounds the memory), all of them.")
    with batch_sizes(image_model.model) as sizes:
        got = _signed_map(my_smoothgrad, label, image_model, x, ranked[3])
    if not close(got, reference_smoothgrad(image_model, x, ranked[3]), 1e-3) or max(sizes, default=0) > 8:
        fail(label, "called with only (image_model, x, target), as a notebook cell may call it, the map differs from "
                    "the one its default arguments promise: a default value is not used as given.")
    ok(label, f"equals the reference in {len(cases)} settings (more samples than a chunk, noise level 0, a class "
              "name, ImageNet mean/std), reproducible per seed, chunked as asked.")


@answers_checked("Problem 2b", answers=("results",))
def problem2_experiment(results: Mapping, image_model: ImageModel, x: torch.Tensor, target: int | str,
                        n_list: Sequence[int], my_smoothgrad: Callable) -> None:
    """Check Task 2b of Problem 2: SmoothGrad maps of two seeds, their difference and their cost, per sample count.

    ``results[n]`` = {"seconds": time of the seed-0 call, "maps": (seed 0, seed 1) signed 1x3xHxW,
    "difference": rms_difference of the two maps}, for every n in ``n_list``; the maps are recomputed with the
    pretrained model. The timings are compared with the check's own timing of ``my_smoothgrad`` at the largest n
    (within ``common.TIMING_FACTOR``), which catches a timer read in milliseconds, two calls timed together and a
    timer started once before the loop. On a busy machine (``common.machine_is_busy``) only the unit is judged
    (within ``common.UNIT_FACTOR``), and the check says so: load alone changes a time by a factor of 2.

    Args:
        results: The learner's dict n -> the measurements above.
        image_model: The course's image model (``xh.load_image_model()``).
        x: The preprocessed photo (1x3xHxW).
        target: The class explained (an index or a name).
        n_list: The sample counts, in order.
        my_smoothgrad: The learner's SmoothGrad of Task 2a, which made the maps (the check times one call).

    Raises:
        CheckFailed: A map, difference or timing is wrong, or an argument is of the wrong kind.
        NotAnsweredYet: ``results`` or one of its fields is still missing.

    Example:
        Recomputing the maps runs the pretrained model; a wrong kind of argument is answered at once:

        >>> import xai_helpers.check as check
        >>> check.problem2_experiment({}, None, None, "monarch", [1, 2, 4], print)
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.CheckFailed: Problem 2b: `image_model` should be an ImageModel (from load_image_model()); got None.
    """
    label = "Problem 2b"
    require(results, label, "results")
    image_batch(x, label)
    class_of(image_model, target, label, "target")
    require_keys(results, n_list, label, f"results should have the keys of n_list {list(n_list)}, in this order")
    for n in n_list:
        r = results[n]
        require_fields(r, ("seconds", "maps", "difference"), label, f"results[{n}]")
        maps = r["maps"]
        if not isinstance(maps, (tuple, list)) or len(maps) != 2:
            fail(label, f"results[{n}]['maps'] should be the pair (map with seed 0, map with seed 1).")
        maps = [numbers_of(m, label, f"results[{n}]['maps'][{k}]") for k, m in enumerate(maps)]
        if any(tuple(m.shape) != tuple(x.shape) for m in maps):
            fail(label, f"results[{n}]['maps'] should be the signed maps shaped like x {tuple(x.shape)}, as "
                        "my_smoothgrad returns them (channels are reduced only for drawing).")
        refs = [reference_smoothgrad(image_model, x, target, n, 0.15, seed) for seed in (0, 1)]
        for seed, (got, ref) in enumerate(zip(maps, refs)):
            if not close(got, ref, 2e-3):
                if close(got, refs[1 - seed], 2e-3):
                    fail(label, f"results[{n}]['maps'] holds the seed-{1 - seed} map in place {seed}: the order is "
                                "(seed 0, seed 1), or both maps come from one seed.")
                fail(label, f"results[{n}]['maps'][{seed}] is not my_smoothgrad(..., n_samples={n}, seed={seed}) with "
                            "the default noise level for this photo and class.")
        difference = number(r["difference"], label, f"results[{n}]['difference']")
        if not math.isclose(difference, rms_difference(*maps), rel_tol=1e-3):
            fail(label, f"results[{n}]['difference'] is not rms_difference of the two signed maps.")
        if number(r["seconds"], label, f"results[{n}]['seconds']") <= 0:
            fail(label, f"results[{n}]['seconds'] should be the measured time of the call, a positive number.")
    seconds = {n: float(results[n]["seconds"]) for n in n_list}
    if len(n_list) > 1 and not seconds[n_list[-1]] > seconds[n_list[0]]:
        fail(label, f"n = {n_list[-1]} took no longer than n = {n_list[0]}, although the cost grows with the number "
                    "of samples: the times are not those of the calls.")
    largest, busy = n_list[-1], machine_is_busy()
    for _ in range(3):                 # a busy moment of the machine during the check's own timing: time again
        own = {largest: timed(call, my_smoothgrad, label, image_model, x, target, n_samples=largest, seed=0, repeat=1)}
        message = timing_mistake(seconds, own, busy=busy)
        if message is None:
            break
    if message:
        fail(label, f"results[{largest}]['seconds']: {message}.")
    ok(label, f"seeded maps, RMS differences and timings for n = {list(n_list)}"
              + (" (the machine is busy, so only the unit of the times was judged: run this cell again when it is "
                 "quieter to have each time checked as one call)." if busy else "."))


_PLAN_KEYS = ("slope", "intercept", "signal", "target", "n_needed", "seconds_needed")


def _runs(results, label):
    """Fail unless ``results`` holds at least two runs n -> {"seconds", "maps", "difference"} to fit a law to."""
    if len(results) < 2:
        fail(label, f"`results` should hold the runs of at least two sample counts; it has {len(results)}.")
    for n, run in results.items():
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 or not isinstance(run, Mapping):
            fail(label, f"`results` should map each sample count n (a positive int) to the dict of its run; it maps "
                        f"{n!r} to {type(run).__name__}.")
        require_fields(run, ("seconds", "maps", "difference"), label, f"results[{n}]")
        if number(run["difference"], label, f"results[{n}]['difference']") <= 0:
            fail(label, f"results[{n}]['difference'] should be positive: a power law is fitted to its logarithm.")
        if not isinstance(run["maps"], (tuple, list)) or len(run["maps"]) != 2:
            fail(label, f"results[{n}]['maps'] should be the pair (map with seed 0, map with seed 1).")


def _signal(maps):
    """sqrt(mean(map_0 * map_1)): the RMS of the noise-free map, estimated from two seeds whose noise is independent.

    The mean of two maps still carries half of their noise variance, so its RMS overstates the map; in the product
    of the two, the noise averages out (E[(s + e0)(s + e1)] = s^2). None when the product's mean is not positive
    (the maps are mostly noise)."""
    a, b = (as_array(m).ravel() for m in maps)
    power = float(np.mean(a * b))
    return math.sqrt(power) if power > 0 else None


def _signal_mistakes(maps):
    """The classic wrong signals of two seeds' maps, each with its message."""
    a, b = (as_array(m) for m in maps)
    mean_map = (a + b) / 2
    yield (float(np.sqrt(np.mean(mean_map ** 2))),
           "plan['signal'] is the RMS of the mean of the two maps, which still holds half of their seed-to-seed noise: "
           "at this n the noise inflates it")
    yield float(np.abs(mean_map).mean()), "plan['signal'] is a mean |value|, while the goal compares RMS with RMS"
    yield (float(np.sqrt(np.mean(a ** 2))), "plan['signal'] is the RMS of the seed-0 map alone, noise included")


def _cost_mistakes(results, n_list, per_sample, n_needed, exact):
    """The classic wrong costs of ``n_needed`` samples, each with its message (``per_sample`` = seconds / n per run,
    ``exact`` = the fitted n before rounding up)."""
    median = float(np.median(per_sample))
    yield (n_needed * float(np.mean(per_sample)),
           "plan['seconds_needed'] uses the mean time per sample: one slow run (the first call also warms the model "
           "up) pulls a mean along, which is why the task asks for the median time per sample of your runs")
    yield (n_needed * sum(float(results[n]["seconds"]) for n in n_list) / sum(n_list),
           "plan['seconds_needed'] divides the total time by the total number of samples, which weighs the largest "
           "run most; the task asks for the median time per sample of your runs")
    yield (n_needed * per_sample[-1], "plan['seconds_needed'] uses the time per sample of the largest run only, not "
                                      "the median time per sample of your runs")
    yield (n_needed * float(results[n_list[-1]]["seconds"]), "plan['seconds_needed'] is n_needed times the time of a "
                                                             "whole run, not of one sample")
    yield (exact * median, "plan['seconds_needed'] is the cost of the fitted n before it is made a whole number of "
                           "samples, not of n_needed")


@answers_checked("Problem 2c", answers=("plan",))
def problem2_plan(plan: Mapping, results: Mapping) -> None:
    """Check Task 2c of Problem 2: the power law of the seed-to-seed difference, and the samples it predicts.

    ``plan`` holds "slope" and "intercept" of a straight-line fit of log(difference) against log(n), "signal"
    (the noise-free RMS of the map, sqrt(mean(map_0 * map_1)) of the two seeds at the largest n), "target"
    (TARGET_RATIO times the signal), "n_needed" (the smallest whole n the fit predicts for the target) and
    "seconds_needed" (its cost at the median time per sample).

    Args:
        plan: The learner's dict of the six numbers above.
        results: The measurements of Task 2b, n -> {"seconds", "maps", "difference"}.

    Raises:
        CheckFailed: A number does not follow from the measurements, or an argument is of the wrong kind.
        NotAnsweredYet: ``plan`` or one of its numbers is still missing.

    Example:
        >>> import torch
        >>> import xai_helpers.check as check
        >>> maps = (torch.ones(1, 3, 4, 4), torch.ones(1, 3, 4, 4))
        >>> results = {n: {"seconds": 0.1 * n, "maps": maps, "difference": 1 / n ** 0.5} for n in (1, 4, 16)}
        >>> plan = {"slope": -0.5, "intercept": 0.0, "signal": 1.0, "target": 0.5, "n_needed": 4,
        ...         "seconds_needed": 0.4}
        >>> check.problem2_plan(plan, results)
        ✓ Problem 2c: power-law fit, signal, target and the predicted n_needed and cost follow from your measurements.
        >>> check.problem2_plan(dict(plan, n_needed=5), results)
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.CheckFailed: Problem 2c: plan['n_needed'] does not follow from your fit: ...
    """
    label = "Problem 2c"
    require(plan, label, "plan")
    require_fields(plan, _PLAN_KEYS, label, "plan")
    _runs(results, label)
    n_list = list(results)
    logs_n, diffs = np.log(n_list), np.array([float(results[n]["difference"]) for n in n_list])
    slope, intercept = np.polyfit(logs_n, np.log(diffs), 1)
    got = {k: number(plan[k], label, f"plan[{k!r}]") for k in _PLAN_KEYS if k != "n_needed"}
    if abs(got["slope"] - slope) > 0.01:
        if abs(got["slope"] + 0.5) < 1e-9:
            fail(label, "plan['slope'] is the textbook -0.5, not the slope your measurements give.")
        fail(label, "plan['slope'] is not the slope of a straight-line fit of log(difference) against log(n).")
    if abs(got["intercept"] - intercept) > 0.01:
        if abs(got["intercept"] - np.polyfit(np.log10(n_list), np.log10(diffs), 1)[1]) < 0.01:
            fail(label, "plan['intercept'] comes from a fit in base-10 logarithms, while the task fits natural ones "
                        "(the base changes the intercept, not the slope).")
        fail(label, "plan['intercept'] is not the intercept of that fit.")
    largest = [numbers_of(m, label, f"results[{n_list[-1]}]['maps']") for m in results[n_list[-1]]["maps"]]
    if largest[0].shape != largest[1].shape:
        fail(label, f"the two maps of results[{n_list[-1]}] have different shapes {largest[0].shape} and "
                    f"{largest[1].shape}.")
    signal = _signal(largest)
    if signal is None:
        fail(label, f"the two maps at n = {n_list[-1]} have a product whose mean is not positive: they are mostly "
                    "noise, so no signal can be measured from them. Run larger n in Task 2b.")
    if abs(got["signal"] - signal) > 1e-3 * signal:
        fail(label, (first_mistake(_signal_mistakes(largest), lambda wrong: abs(got["signal"] - wrong) <= 1e-3 * signal)
                     or f"plan['signal'] is not the noise-free RMS of the map from the two n = {n_list[-1]} maps")
             + ".")
    target = TARGET_RATIO * signal
    if abs(got["target"] - target) > 1e-3 * target:
        fail(label, f"plan['target'] should be {TARGET_RATIO} times the signal.")
    exact = math.exp((math.log(target) - intercept) / slope)
    n_needed = count(plan["n_needed"], label, "plan['n_needed']", "samples")
    if n_needed != math.ceil(exact - 1e-9):
        if n_needed == math.floor(exact):
            fail(label, "plan['n_needed'] is rounded down: at that n the fitted difference is still above the target.")
        fail(label, "plan['n_needed'] does not follow from your fit: it is not the smallest whole n at which the fitted "
                    "line reaches the target.")
    per_sample = [float(results[n]["seconds"]) / n for n in n_list]
    cost = n_needed * float(np.median(per_sample))
    if abs(got["seconds_needed"] - cost) > 1e-3 * cost:
        fail(label, (first_mistake(_cost_mistakes(results, n_list, per_sample, n_needed, exact),
                                   lambda wrong: abs(got["seconds_needed"] - wrong) <= 1e-3 * wrong,
                                   distance=lambda wrong: abs(got["seconds_needed"] - wrong))
                     or "plan['seconds_needed'] is not n_needed times the median time per sample of your runs") + ".")
    ok(label, "power-law fit, signal, target and the predicted n_needed and cost follow from your measurements.")
