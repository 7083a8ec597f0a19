"""Reference answers of Problems 1-5 (as in the solutions notebook) and wrong answers a learner might write.

Used by tests/integration/test_check_wrong_answers.py to check the checkers: every reference must pass, every
wrong answer must be refused with the message that names its mistake.
"""
import math

import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image

import xai_helpers as xh


# --- Problem 1 ------------------------------------------------------------------------------------
def box_share(heatmap, box, *, mistake=None):
    if mistake == "in place" and isinstance(heatmap, np.ndarray):
        heatmap /= max(heatmap.sum(), 1e-30)
    m = np.asarray(xh.to_numpy(heatmap), dtype=np.float64)
    if mistake == "sign by sum" and m.sum() < 0:
        raise ValueError("box_share needs a non-negative map; reduce a signed map first")
    if mistake == "bad message" and (m < 0).any():
        raise ValueError("bad map")
    if (m < 0).any() and mistake != "sign by sum":
        if mistake == "abs for signed":
            m = np.abs(m)
        elif mistake == "TypeError for signed":
            raise TypeError("negative")
        else:
            raise ValueError("box_share needs a non-negative map")
    x0, y0, x1, y1 = box
    total = m.sum()
    if mistake == "swapped":
        return float(m[x0:x1 + 1, y0:y1 + 1].sum() / total)
    if mistake == "exclusive":
        return float(m[y0:y1, x0:x1].sum() / total)
    if mistake == "mean inside":
        return float(m[y0:y1 + 1, x0:x1 + 1].mean())
    if mistake == "not divided":
        return float(m[y0:y1 + 1, x0:x1 + 1].sum())
    if mistake == "ratio to chance":
        inside = m[y0:y1 + 1, x0:x1 + 1]
        return float(inside.sum() / total / (inside.size / m.size))
    if mistake == "percent":
        return float(100 * m[y0:y1 + 1, x0:x1 + 1].sum() / total)
    if mistake == "nan for empty":
        return float(m[y0:y1 + 1, x0:x1 + 1].sum() / total) if total > 0 else float("nan")
    return float(m[y0:y1 + 1, x0:x1 + 1].sum() / total) if total > 0 else 0.0


def box_share_torch(heatmap, box):
    """A correct alternative: torch throughout, the share returned as a 0-d tensor."""
    m = torch.as_tensor(heatmap, dtype=torch.float64)
    if bool((m < 0).any()):
        raise ValueError("a share of mass needs a non-negative map: take |map| or its positive part first")
    x0, y0, x1, y1 = box
    total = m.sum()
    return m[y0:y1 + 1, x0:x1 + 1].sum() / total if total > 0 else torch.tensor(0.0)


def with_globals(fn, **names):
    """``fn`` as if defined in a notebook that also holds the variables ``names`` (a learner's function may read
    them instead of its arguments)."""
    import types
    namespace = dict(fn.__globals__, **names)
    return types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__, fn.__closure__)


def box_share_numpy_only(heatmap, box):
    x0, y0, x1, y1 = box
    return float(heatmap.numpy()[y0:y1 + 1, x0:x1 + 1].sum() / heatmap.numpy().sum())


def contrasts(image_model, x, layers, classes, box, *, mistake=None):
    out = {}
    for layer in layers:
        share = {}
        for c in classes:
            cam = xh.grad_cam(image_model, x, c, upsample=(mistake != "coarse grid"), layer=layer)
            share[c] = box_share(cam, (0, 0, box[0], box[3]) if mistake == "tower box" else box)
        out[layer] = share[classes[1]] - share[classes[0]]
        if mistake == "sign":
            out[layer] = -out[layer]
    return out


def measurements(maps, layers, classes, image_model, x, boxes, *, mistake=None):
    out = {}
    for method, per_class in maps.items():
        layer = layers[method]
        grid = x.shape[-1] if layer is None else xh.grad_cam(image_model, x, classes[0], upsample=False, layer=layer).shape[-1]
        if mistake == "upsampled grid" and layer is not None:
            grid = x.shape[-1]
        first, second = (xh.to_numpy(per_class[c]).ravel() for c in classes)
        rough = {c: xh.check.roughness(per_class[c]) for c in classes}
        if mistake == "other class roughness":
            rough = {c: xh.check.roughness(per_class[o]) for c, o in zip(classes, classes[::-1])}
        if mistake == "grid shape":
            grid = (grid, grid)
        if mistake == "spearman":
            first, second = (np.argsort(np.argsort(v)).astype(float) for v in (first, second))
        out[method] = {"grid": grid if mistake == "grid shape" else int(grid), "roughness": rough,
                       "tower_share": {c: box_share(per_class[c], boxes["tower"]) for c in classes},
                       "lake_share": {c: box_share(per_class[c], boxes["tower" if mistake == "wrong box" else "lake"])
                                      for c in classes},
                       "class_correlation": 1.0 if mistake == "self correlation"
                       else float(np.corrcoef(first, second)[0, 1])}
    return out


# --- Problem 2 ------------------------------------------------------------------------------------
def smoothgrad(image_model, x, target, n_samples=16, noise_level=0.15, seed=0, batch_size=4, *, mistake=None):
    if mistake == "one at a time":
        return smoothgrad(image_model, x, target, n_samples, noise_level, seed, batch_size=1)
    if isinstance(target, str):
        target = image_model.labels.index(target)
    if mistake == "ignores target":
        with torch.no_grad():
            target = int(image_model.model(x).argmax())
    sigma = float(noise_level) * float(x.max() - x.min())
    if mistake == "absolute sigma":
        sigma = float(noise_level)
    elif mistake == "range 2":
        sigma = 2 * float(noise_level)
    generator = None if mistake == "unseeded" else torch.Generator().manual_seed(0 if mistake == "seed ignored" else seed)
    noise = torch.randn((n_samples, *x.shape[1:]), generator=generator).to(x.device)
    if mistake == "pixel noise":
        std = torch.as_tensor(image_model.std, dtype=x.dtype).view(1, 3, 1, 1)
        noise = noise * float(noise_level) / std
    else:
        noise = noise * sigma
    if mistake == "re-seeds per chunk":
        noise = torch.cat([torch.randn((len(c), *x.shape[1:]), generator=torch.Generator().manual_seed(seed)) * sigma
                           for c in noise.split(batch_size)])
    chunks = [noise] if mistake == "ignores batch_size" else list(noise.split(batch_size))
    if mistake == "first chunk only":
        chunks = chunks[:1]
    if mistake == "drops last chunk" and len(chunks) > 1:
        chunks = chunks[:-1]
    total, means, used = torch.zeros_like(x), [], 0
    for chunk in chunks:
        points = (x.detach() + chunk).requires_grad_(True)
        out = image_model.model(points)
        out = out.softmax(-1) if mistake == "probability" else out
        (grad,) = torch.autograd.grad(out[:, target].sum(), points)
        grad = grad.abs() if mistake == "abs" else grad
        total += grad.sum(0, keepdim=True)
        means.append(grad.mean(0, keepdim=True))
        used += len(chunk)
    if mistake == "sum":
        return total
    if mistake == "mean of chunk means":
        return torch.stack(means).mean(0)
    if mistake == "2-D":
        return xh.max_abs_over_channels(total / used)
    return total / used


def smoothgrad_low_default(image_model, x, target, n_samples=16, noise_level=0.1, seed=0, batch_size=4):
    """A wrong default: noise_level 0.1 where the task's signature gives 0.15."""
    return smoothgrad(image_model, x, target, n_samples, noise_level, seed, batch_size)


def smoothgrad_global(image_model, x, target, n_samples=16, noise_level=0.15, seed=0, batch_size=4):
    """Reads the notebook's ``the_model`` instead of its argument ``image_model``."""
    return smoothgrad(the_model, x, target, n_samples, noise_level, seed, batch_size)  # noqa: F821


def experiment(image_model, x, target, n_list, *, mistake=None, clock=None, my_smoothgrad=None):
    """Task 2b's results; ``clock(n)`` (the seconds of one call of n samples) replaces time.perf_counter when given;
    ``my_smoothgrad`` (default: ``smoothgrad``) makes the maps."""
    import time
    smoothgrad_ = my_smoothgrad or smoothgrad
    results = {}
    elapsed = 0.0 if clock else time.perf_counter()
    now = (lambda: elapsed) if clock else time.perf_counter
    loop_start = now()
    for i, n in enumerate(n_list):
        start = now()
        m0 = smoothgrad_(image_model, x, target, n_samples=n, seed=0)
        elapsed += clock(n) if clock else 0
        seconds = now() - start
        m1 = m0 if mistake == "same seed" else smoothgrad_(image_model, x, target, n_samples=n, seed=1)
        elapsed += clock(n) if clock else 0
        if mistake == "both timed":
            seconds = now() - start
        elif mistake == "timer before loop":
            seconds = now() - loop_start
        elif mistake == "milliseconds":
            seconds *= 1000
        elif mistake == "minutes":
            seconds /= 60
        if mistake == "numpy maps":
            m0, m1 = m0.numpy(), m1.numpy()
        if mistake == "swapped seeds":
            m0, m1 = m1, m0
        diff = xh.check.rms_difference(xh.max_abs_over_channels(m0), xh.max_abs_over_channels(m1)) \
            if mistake == "drawn difference" else xh.check.rms_difference(m0, m1)
        results[n] = {"seconds": 2.0 if mistake == "typed seconds" else seconds, "maps": (m0, m1), "difference": diff}
    return results


def plan(results, target_ratio=0.5, *, mistake=None):
    n_list = list(results)
    diffs = np.array([results[n]["difference"] for n in n_list])
    if mistake == "log10":
        slope, intercept = np.polyfit(np.log10(n_list), np.log10(diffs), 1)
    else:
        slope, intercept = np.polyfit(np.log(n_list), np.log(diffs), 1)
    if mistake == "textbook slope":
        slope = -0.5
    largest = [torch.as_tensor(m) for m in results[n_list[-1]]["maps"]]
    mean_map = (largest[0] + largest[1]) / 2
    if mistake == "mean abs":
        signal = float(mean_map.abs().mean())
    elif mistake == "rms of mean":
        signal = float(mean_map.pow(2).mean().sqrt())
    elif mistake == "seed 0 only":
        signal = float(largest[0].pow(2).mean().sqrt())
    elif mistake == "noise removed":
        signal = math.sqrt(float(mean_map.pow(2).mean()) - float(diffs[-1]) ** 2 / 4)
    else:
        signal = float((largest[0] * largest[1]).mean().sqrt())
    target = target_ratio * signal
    exact = math.exp((math.log(target) - intercept) / slope)
    n_needed = math.floor(exact) if mistake == "floor" else math.ceil(exact)
    if mistake == "unrounded":
        n_needed = exact
    elif mistake == "np.ceil":
        n_needed = np.ceil(exact)
    per_sample = float((np.mean if mistake == "mean per sample" else np.median)(
        [results[n]["seconds"] / n for n in n_list]))
    if mistake == "pooled per sample":
        per_sample = sum(results[n]["seconds"] for n in n_list) / sum(n_list)
    return {"slope": float(slope), "intercept": float(intercept), "signal": signal, "target": target,
            "n_needed": n_needed, "seconds_needed": n_needed * per_sample}


# --- Problem 3 ------------------------------------------------------------------------------------
def baselines_low_default(image_model, x, seed=0, blur_sigma=5.0, n_noise=2):
    """A wrong default: blur_sigma 5 where the task's signature gives 10."""
    return baselines(image_model, x, seed, blur_sigma, n_noise)


def baselines_global(image_model, x, seed=0, blur_sigma=10.0, n_noise=2):
    """Reads the notebook's ``x_flower`` instead of its argument ``x``."""
    return baselines(image_model, x_flower, seed, blur_sigma, n_noise)  # noqa: F821


def baselines(image_model, x, seed=0, blur_sigma=10.0, n_noise=2, *, mistake=None):
    pixels = image_model.denormalize(x.detach()).clamp(0, 1)
    if mistake == "default generator":
        torch.manual_seed(seed)
    sigma = 10.0 if mistake == "sigma ignored" else blur_sigma
    kernel = 2 * math.ceil(sigma) + 1 if mistake == "narrow kernel" else 2 * math.ceil(3 * sigma) + 1
    generator = None if mistake == "unseeded" else torch.Generator().manual_seed(0 if mistake == "seed ignored" else seed)
    count = 2 if mistake == "n_noise ignored" else n_noise
    base = {"black": torch.zeros_like(pixels), "white": torch.ones_like(pixels),
            "blur": TF.gaussian_blur(pixels, kernel_size=[kernel, kernel], sigma=[sigma, sigma]),
            "noise": torch.rand((count, *pixels.shape[1:]), generator=None if mistake == "default generator"
                                else generator)}
    if mistake == "white 255":
        base["white"] = torch.full_like(pixels, 255.0)
    out = {k: image_model.normalize(v) for k, v in base.items()}
    if mistake == "normalised zeros":
        out["black"] = torch.zeros_like(x)
    elif mistake == "minus one":
        out["black"] = -torch.ones_like(x)
    elif mistake == "normalised ones":
        out["white"] = torch.ones_like(x)
    elif mistake == "darkest pixel":
        out["black"] = torch.full_like(x, float(x.min()))
    elif mistake == "no blur":
        out["blur"] = x.detach().clone()
    elif mistake == "uniform blur":
        out["blur"] = image_model.normalize(pixels.mean(dim=(2, 3), keepdim=True).expand_as(pixels))
    elif mistake == "randn noise":
        out["noise"] = torch.randn((n_noise, *x.shape[1:]), generator=torch.Generator().manual_seed(seed))
    elif mistake == "noise not normalised":
        out["noise"] = base["noise"]
    return out


def table(image_model, x, bases, ig, mask, blind_distance=0.2, *, mistake=None):
    inside = torch.as_tensor(mask)
    photo = image_model.denormalize(x).clamp(0, 1)
    out = {}
    for name, b in bases.items():
        if mistake == "normalised distance":
            d = (x - b).abs().mean(1).mean(0)
        elif mistake == "max over channels":
            d = (photo - image_model.denormalize(b)).abs().amax(1).mean(0)
        else:
            d = (photo - image_model.denormalize(b)).abs().mean(1).mean(0)
        a = ig[name]["attributions"][0]
        per_pixel = a.abs().sum(0) if mistake == "abs part" else a.sum(0)
        total = ig[name]["output difference"] if mistake == "divided by difference" else per_pixel.sum()
        d_in, d_out = float(d[inside].mean()), float(d[~inside].mean())
        if mistake == "swapped":
            d_in, d_out = d_out, d_in
        out[name] = {"distance inside": d_in, "distance outside": d_out,
                     "IG part outside": float(per_pixel[~inside].sum() / total)}
        if mistake == "outside sum only":
            out[name]["IG part outside"] = float(per_pixel[~inside].sum())
        blind = (d_in if mistake == "blind from inside" else d_out) < blind_distance
        out[name]["blind to background"] = (not blind) if mistake == "blind flipped" else blind
    return out


# --- Problem 4 ------------------------------------------------------------------------------------
def word_attention(matrix, tokens, *, mistake=None):
    groups = []
    for position, token in enumerate(tokens):
        if token.startswith("##") and groups:
            groups[-1].append(position)
        elif mistake == "drop specials" and token in ("[CLS]", "[SEP]"):
            continue
        elif mistake == "merge by string" and any(tokens[g[0]] == token for g in groups):
            groups[[tokens[g[0]] for g in groups].index(token)].append(position)
        else:
            groups.append([position])
    join = (lambda g: " ".join(tokens[k] for k in g)) if mistake == "keep hashes" else \
        (lambda g: tokens[g[0]] + "".join(tokens[k][2:] for k in g[1:]))
    words = [join(g) for g in groups]
    m = np.asarray(xh.to_numpy(matrix), dtype=np.float64)
    if mistake == "drop specials":
        keep = [k for g in groups for k in g]
        m = m[np.ix_(keep, keep)]
        m = m / m.sum(1, keepdims=True)
        position = {k: i for i, k in enumerate(keep)}
        groups = [[position[k] for k in g] for g in groups]
    def cell(gi, gj):
        block = m[np.ix_(gi, gj)]
        if mistake == "mean columns":
            return block.mean(1).mean()
        if mistake == "sum rows":
            return block.sum(1).sum()
        if mistake == "first piece":
            return block[0, 0]
        return block.sum(1).mean()
    W = np.array([[cell(gi, gj) for gj in groups] for gi in groups])
    if mistake == "transposed":
        W = np.array([[m[np.ix_(gj, gi)].sum(0).mean() for gj in groups] for gi in groups])
    if mistake == "renormalised":
        W = np.array([[m[np.ix_(gi, gj)].mean(1).mean() for gj in groups] for gi in groups])
        W = W / W.sum(1, keepdims=True)
    if mistake == "swapped pair":
        return W, words
    if mistake == "lists":
        return tuple(words), W.tolist()
    return words, W


def verb_margin(attentions, tokens, verb, subject, attractor, *, mistake=None):
    n_layers, n_heads = attentions.shape[:2]
    out = np.zeros((n_layers, n_heads))
    for layer in range(n_layers):
        for head in range(n_heads):
            if mistake == "token level":
                words, W = list(tokens), xh.to_numpy(attentions[layer, head])
                first = {w: next(i for i, t in enumerate(tokens) if w.startswith(t) and not t.startswith("##")
                                 and t not in ("[CLS]", "[SEP]")) for w in (verb, subject, attractor)}
                out[layer, head] = W[first[verb], first[subject]] - W[first[verb], first[attractor]]
                continue
            words, W = word_attention(attentions[layer, head], tokens)
            v, s, a = (words.index(w) for w in (verb, subject, attractor))
            out[layer, head] = (W[s, v] - W[a, v]) if mistake == "rows" else W[v, s] - W[v, a]
    if mistake == "sign":
        return -out
    if mistake == "mean over heads":
        return out.mean(1)
    if mistake == "abs":
        return np.abs(out)
    if mistake == "heads by layers":
        return out.T
    if mistake == "tensor":
        return torch.tensor(out)
    if mistake == "lists":
        return out.tolist()
    return out


def verb_margin_global(attentions, tokens, verb, subject, attractor):
    """Reads the notebook's ``tokens_4`` instead of its argument ``tokens``."""
    return verb_margin(attentions, tokens_4, verb, subject, attractor)  # noqa: F821


def held_out_answers(margins, text_model, sentences, *, mistake=None):
    best = tuple(int(i) for i in np.unravel_index(int(margins.argmax()), margins.shape))
    if mistake == "not argmax":
        best = tuple(int(i) for i in np.unravel_index(int(margins.argmin()), margins.shape))
    held = {}
    for sentence, verb, subject, attractor in sentences:
        toks, att = xh.attention_maps(text_model, sentence)
        m = verb_margin(att, toks, verb, subject, attractor)
        held[sentence] = float(m.max() if mistake == "own best head" else m[best])
    if mistake == "reordered":
        held = dict(reversed(list(held.items())))
    values = list(held.values())
    generalises = all(v > 0 for v in values) and np.mean(values) >= 0.5 * margins[best]
    return best, held, (not generalises) if mistake == "verdict flipped" else generalises


# --- Problem 5 ------------------------------------------------------------------------------------
def misclassification_numbers(image_model, x, true_class, *, mistake=None, typed=None):
    if typed is not None:
        return dict(typed)
    true_index = image_model.labels.index(true_class) if isinstance(true_class, str) else int(true_class)
    with torch.no_grad():
        out = image_model.model(x)[0].cpu()
    probs = out if mistake == "logits" else out.softmax(-1)
    p = int(probs.argmax())
    result = {"predicted_index": p, "predicted_label": image_model.labels[p], "predicted_probability": float(probs[p]),
              "true_index": true_index, "true_label": image_model.labels[true_index],
              "true_probability": float(probs[true_index]), "true_rank": int((probs > probs[true_index]).sum()) + 1}
    if mistake == "tensor indices":
        result["predicted_index"], result["true_index"] = torch.tensor(p), torch.tensor(true_index)
    if mistake == "predicted probability":
        result["true_probability"] = result["predicted_probability"]
    if mistake == "given label":
        result["true_label"] = true_class
    if mistake == "rank from 0":
        result["true_rank"] -= 1
    elif mistake == "percent":
        result["true_probability"] *= 100
    elif mistake == "short labels":
        result["predicted_label"] = result["predicted_label"].split()[-1].capitalize()
    return result


def misclassification_numbers_global(image_model, x, true_class):
    """Reads the notebook's ``x_scene`` instead of its argument ``x``."""
    return misclassification_numbers(image_model, x_scene, true_class)  # noqa: F821


def evidence(cams, igs, classes, box, *, mistake=None):
    x0, y0, x1, y1 = box
    mask = torch.zeros(224, 224, dtype=torch.bool)
    mask[y0:y1 + 1, x0:x1 + 1] = True
    chance = float(mask.float().mean())
    if mistake == "chance without corners":
        chance = (x1 - x0) * (y1 - y0) / 224 ** 2
    out = {}
    for c in classes:
        cam = torch.as_tensor(xh.to_numpy(cams[c]))
        signed = xh.sum_over_channels(igs[c]).cpu()
        ig = signed.abs() if mistake == "abs IG" else signed if mistake == "signed IG" else signed.clamp_min(0)
        cam_mask = mask
        if mistake == "exclusive cam":
            cam_mask = torch.zeros_like(mask)
            cam_mask[y0:y1, x0:x1] = True
        out[c] = {"Grad-CAM share in box": float(cam[cam_mask].sum() / cam.sum()),
                  "IG share in box": float(ig[mask].sum() / ig.sum())}
    return out, chance


def crop_probability(image_model, image, box, margin, target, *, mistake=None):
    x0, y0, x1, y1 = box
    w, h = image.size
    right = 0 if mistake == "exclusive" else 1
    if mistake == "no clipping":
        region = (x0 - margin, y0 - margin, x1 + 1 + margin, y1 + 1 + margin)
    else:
        region = (max(0, x0 - margin), max(0, y0 - margin), min(w, x1 + right + margin), min(h, y1 + right + margin))
    if mistake == "margin right only":
        region = (x0, y0, min(w, x1 + 1 + margin), min(h, y1 + 1 + margin))
    crop = image.crop(region)
    if mistake == "resized_crop":
        left, upper, right, lower = region
        crop = TF.resized_crop(image, upper, left, lower - upper, right - left, [image_model.crop, image_model.crop],
                               interpolation=TF.InterpolationMode.BILINEAR)
        x = image_model.normalize(TF.to_tensor(crop).unsqueeze(0).to(image_model.device))
        target = image_model.labels.index(target) if isinstance(target, str) else int(target)
        with torch.no_grad():
            return float(image_model.model(x)[0].softmax(-1)[target])
    if mistake == "preprocess":
        x = image_model.preprocess(crop)
    else:
        resample = Image.BICUBIC if mistake == "bicubic" else Image.BILINEAR
        size = 224 if mistake == "size 224" else image_model.crop
        x = TF.to_tensor(crop.resize((size, size), resample)).unsqueeze(0).to(image_model.device)
        x = x if mistake == "not normalised" else image_model.normalize(x)
    target = image_model.labels.index(target) if isinstance(target, str) else int(target)
    with torch.no_grad():
        out = image_model.model(x)[0]
    return float(out[target] if mistake == "logit" else out.softmax(-1)[target])


def crop_probability_global(image_model, image, box, margin, target):
    """Reads the notebook's ``BUTTERFLY_BOX`` instead of its argument ``box``."""
    return crop_probability(image_model, image, BUTTERFLY_BOX, margin, target)  # noqa: F821


def margin_answers(image_model, scene, box, true_class, margins, majority=0.5, *, mistake=None):
    p = {m: crop_probability(image_model, scene, box, m, true_class) for m in margins}
    keep = [m for m, v in p.items() if v >= majority]
    largest = (min(keep) if keep else None) if mistake == "smallest" else (max(keep) if keep else None)
    if mistake == "probability":
        largest = p[largest]
    elif mistake == "percent":
        p = {m: 100 * v for m, v in p.items()}
    return p, largest


def make_scene(image_model):
    """The Problem 5 scene: the butterfly photo, 72 x 72, pasted into the middle of china.jpg (224 x 224)."""
    from sklearn.datasets import load_sample_image
    box = (88, 88, 159, 159)
    scene = image_model.view(Image.fromarray(load_sample_image("china.jpg"))).copy()
    scene.paste(image_model.view("butterfly").resize((72, 72), Image.BILINEAR), box[:2])
    return scene, box


# --- Problem 6 ------------------------------------------------------------------------------------
def paste_region(images, region, donors, *, mistake=None):
    top, left, bottom, right = region
    out = images.clone()
    if mistake == "inclusive":
        bottom, right = bottom + 1, right + 1
    if mistake == "rows only":
        out[:, :, top:bottom] = images[torch.as_tensor(donors)][:, :, top:bottom]
    else:
        out[:, :, top:bottom, left:right] = images[torch.as_tensor(donors)][:, :, top:bottom, left:right]
    return out.numpy() if mistake == "numpy" else out


def paste_region_global(images, region, donors):
    """Pastes from the notebook's ``scenes_images`` instead of its argument ``images``."""
    top, left, bottom, right = region
    out = images.clone()
    out[:, :, top:bottom, left:right] = scenes_images[torch.as_tensor(donors)][:, :, top:bottom, left:right]  # noqa: F821
    return out
