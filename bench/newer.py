"""Section "newer": the newer methods and metrics against their reference libraries, in one run.

Each pair -- SmoothGrad² and VarGrad vs Captum ``NoiseTunnel``, Guided Backprop vs Captum ``GuidedBackprop``,
HiResCAM / LayerCAM / Ablation-CAM vs pytorch-grad-cam, expected gradients vs Captum ``GradientShap``, ROAD vs
``pytorch_grad_cam.metrics.road``, leave-one-out of tokens (the sentiment classifier) vs Captum ``FeatureAblation``
and patch occlusion (the course's ViT) vs Captum ``Occlusion`` -- first has its results compared (same draws; CAMs
after pytorch-grad-cam's min-max scaling), and no time is reported for a pair that disagrees; that comparison also
warms both up on the timed shapes. Then ``--newer-reps`` interleaved rounds time helper and reference one after the
other in the same process; the ratio is paired per round. Ablation-CAM's reference runs the whole network once per
channel (1280 or 2048 of them), so both are timed on the centre ``--newer-ablation-size`` pixels; ROAD is timed at
``--newer-road-size``.
"""
import time

from bench.harness import median_range, spawn, sync
from bench.report import fmt_mr
from bench.subjects import MAP_TOLERANCE, MODEL_TITLE, map_difference, subject_and_photo

NAME, ORDER = "newer", 55
N_SAMPLES = 50                 # SmoothGrad² / VarGrad noisy copies, expected-gradients draws
IMAGE_PAIRS = ("smoothgrad_sq", "vargrad", "guided_backprop", "hires_cam", "layer_cam", "ablation_cam",
               "expected_gradients", "road")
TRANSFORMER_PAIRS = ("token_occlusion", "patch_occlusion")     # the course's sentiment classifier and ViT
PAIRS = IMAGE_PAIRS + TRANSFORMER_PAIRS


def add_arguments(parser):
    parser.add_argument("--newer-reps", type=int, default=3, help="interleaved rounds of helper vs reference")
    parser.add_argument("--newer-ablation-size", type=int, default=112, help="input side for Ablation-CAM's timing")
    parser.add_argument("--newer-road-size", type=int, default=112, help="input side for ROAD's timing")
    parser.add_argument("--newer-pairs", default=",".join(PAIRS), help="comma list of the pairs to time")


def configure(args, parser):
    if args.quick:
        args.newer_reps = 1
    args.newer_pairs = [p.strip() for p in args.newer_pairs.split(",") if p.strip()]
    unknown = set(args.newer_pairs) - set(PAIRS)
    if unknown:
        parser.error(f"--newer-pairs: unknown {sorted(unknown)}; choose from {', '.join(PAIRS)}")


def _scaled(raw, size):
    """pytorch-grad-cam's post-processing of a raw CAM: min-max, bilinear resize, min-max (a numpy array)."""
    import torch
    import torch.nn.functional as F
    m = (raw - raw.min()) / (1e-7 + raw.max() - raw.min())
    m = F.interpolate(m[None, None], size=tuple(size), mode="bilinear", align_corners=False)[0, 0]
    return ((m - m.min()) / (1e-7 + m.max() - m.min())).to(torch.float32)


def _guided_reference(module):
    """Captum GuidedBackprop with its own hook registered on ReLU6 too (EfficientNet-Lite0's activation)."""
    from captum._utils.common import _register_backward_hook
    from captum.attr import GuidedBackprop
    from torch import nn

    class GuidedBackpropWithReLU6(GuidedBackprop):
        def _register_hooks(self, m):
            if isinstance(m, (nn.ReLU, nn.ReLU6)):
                self.backward_hooks.extend(_register_backward_hook(m, self._backward_hook, self))
    return GuidedBackpropWithReLU6(module)


def _gradient_pairs(im, x, target):
    """{pair: (helper(), reference())} for the input-gradient methods; both return tensors shaped like x."""
    import numpy as np
    import torch
    from captum.attr import GradientShap, NoiseTunnel, Saliency
    import xai_helpers as xh
    sigma = xh.methods.noise_sigma(x, 0.15)
    photos = torch.cat([im.preprocess(p) for p in ("dog", "coffee", "squirrel")])

    def noise_tunnel(kind):
        torch.manual_seed(0)
        return NoiseTunnel(Saliency(im.model)).attribute(x, nt_type=kind, nt_samples=N_SAMPLES, stdevs=sigma,
                                                         target=target, abs=False, nt_samples_batch_size=5)

    def gradient_shap():
        np.random.seed(0)
        return GradientShap(im.model).attribute(x, baselines=photos, n_samples=N_SAMPLES, stdevs=0.0, target=target)
    return {
        "smoothgrad_sq": (lambda: xh.methods.smoothgrad_sq(im, x, target, n_samples=N_SAMPLES, seed=0),
                          lambda: noise_tunnel("smoothgrad_sq")),
        "vargrad": (lambda: xh.methods.vargrad(im, x, target, n_samples=N_SAMPLES, seed=0),
                    lambda: noise_tunnel("vargrad").clamp(min=0)),
        "guided_backprop": (lambda: xh.methods.guided_backprop(im, x, target),
                            lambda: _guided_reference(im.model).attribute(x, target=target)),
        # one batch of all draws, as GradientShap runs them: convolutions sum in another order per batch size,
        # which moves the map by ~1e-3 of its maximum at batch 4 (same draws, same maths)
        "expected_gradients": (lambda: xh.methods.expected_gradients(im, x, target, baselines=photos,
                                                                     n_samples=N_SAMPLES, seed=0,
                                                                     batch_size=N_SAMPLES)[0], gradient_shap),
    }


def _cam_pairs(im, x, target, ablation_size):
    """{pair: (helper(), reference())} for the CAMs; both return the map as pytorch-grad-cam scales it."""
    import torch
    import pytorch_grad_cam as gc
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    import xai_helpers as xh
    ablation_size = min(ablation_size, x.shape[-1])
    lo = (x.shape[-1] - ablation_size) // 2
    small = x[..., lo:lo + ablation_size, lo:lo + ablation_size].contiguous()

    def library(cls, inp, **kw):
        with cls(model=im.model, target_layers=[im.target_layer], **kw) as cam:
            return torch.from_numpy(cam(inp.clone().requires_grad_(True), targets=[ClassifierOutputTarget(target)])[0])

    def ours(fn, inp):
        return _scaled(fn(im, inp, target, upsample=False, normalize=False), inp.shape[-2:])
    return {
        "hires_cam": (lambda: ours(xh.methods.hires_cam, x), lambda: library(gc.HiResCAM, x)),
        "layer_cam": (lambda: ours(xh.methods.layer_cam, x), lambda: library(gc.LayerCAM, x)),
        "ablation_cam": (lambda: ours(xh.methods.ablation_cam, small),
                         lambda: library(gc.AblationCAM, small, batch_size=64)),
    }


def _road_pair(im, x, target, size):
    """ROAD (MoRF, percentiles 10..90) of the Grad-CAM map: helper vs pytorch-grad-cam; both -> a 1-element tensor."""
    import numpy as np
    import torch
    from pytorch_grad_cam.metrics.road import ROADMostRelevantFirstAverage
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    import xai_helpers as xh
    size = min(size, x.shape[-1])
    lo = (x.shape[-1] - size) // 2
    small = x[..., lo:lo + size, lo:lo + size].contiguous()
    cam = xh.grad_cam(im, small, target)
    percentiles = tuple(range(10, 100, 10))

    def reference():
        torch.manual_seed(0)
        return torch.tensor(ROADMostRelevantFirstAverage(list(percentiles))(
            small, cam[None].numpy().astype(np.float32), [ClassifierOutputTarget(target)], im.model))
    return {"road": (lambda: torch.tensor([float(np.mean(xh.evaluation.road(
        im, small, target, cam, percentiles=percentiles, order="morf", seed=0).scores))]), reference)}


def _transformer_pairs():
    """Leave-one-out of tokens vs Captum FeatureAblation; patch occlusion vs Captum Occlusion -> {pair: (ours, ref)}."""
    import torch
    from captum.attr import FeatureAblation, Occlusion
    import xai_helpers as xh
    clf, vit = xh.load_text_classifier(), xh.load_vit_model()
    sentence = "The film was not good, but the actors were wonderful."
    batch = clf.encode([sentence])
    image = torch.as_tensor(xh.digits.make_cluttered_digits("test", n=1).images[:1]).float()
    p = vit.patch_size

    def ablation():
        return FeatureAblation(lambda ids, mask: clf.model(ids, mask)).attribute(
            batch["input_ids"], baselines=clf.tokenizer.mask_token_id, target=1,
            additional_forward_args=(batch["attention_mask"],))[0]
    return {"token_occlusion": (lambda: xh.methods.token_occlusion(clf, sentence, 1)[1], ablation),
            "patch_occlusion": (lambda: xh.methods.patch_occlusion(vit, image, 3),
                                lambda: Occlusion(vit.model).attribute(
                                    vit.preprocess(image), sliding_window_shapes=(1, p, p), strides=(1, p, p),
                                    baselines=0.0, target=3)[0, 0, ::p, ::p])}


def _agreement(pairs):
    """Round 0: max |helper - reference| / max |reference| per pair."""
    return {k: map_difference(ref().detach().float().cpu(), ours().detach().float().cpu())
            for k, (ours, ref) in pairs.items()}


def time_newer(model, device, reps, pairs, ablation_size, road_size):
    """Worker: agreement, then ``reps`` interleaved rounds of helper / reference per pair -> {"agreement", "times"}."""
    im, x, target = subject_and_photo(model, device)
    every = {**_gradient_pairs(im, x, target), **_cam_pairs(im, x, target, ablation_size),
             **_road_pair(im, x, target, road_size),
             **(_transformer_pairs() if set(pairs) & set(TRANSFORMER_PAIRS) else {})}
    chosen = {k: every[k] for k in pairs}
    out = {"agreement": _agreement(chosen), "times": {f"{k}:{side}": [] for k in chosen for side in ("ours", "ref")}}
    for _ in range(reps):
        for k, (ours, ref) in chosen.items():
            if out["agreement"][k] > MAP_TOLERANCE:
                continue
            for side, fn in (("ours", ours), ("ref", ref)):
                sync(device)
                start = time.perf_counter()
                fn()
                sync(device)
                out["times"][f"{k}:{side}"].append(time.perf_counter() - start)
    return out


def run(args, rep, tmp):
    for model in args.models:
        res = spawn("bench.newer:time_newer", {"model": model, "device": args.device, "reps": args.newer_reps,
                                               "pairs": args.newer_pairs, "ablation_size": args.newer_ablation_size,
                                               "road_size": args.newer_road_size}, threads=args.threads)
        if "failed" in res:
            rep.goal(f"newer methods run ({model})", res["failed"][:100], False)
            continue
        rows = []
        for k, diff in res["agreement"].items():
            t_ours, t_ref = res["times"][f"{k}:ours"], res["times"][f"{k}:ref"]
            ratio = median_range([r / o for o, r in zip(t_ours, t_ref)])
            rows.append([k, f"{diff:.1e}", fmt_mr(median_range(t_ours), " s", 3),
                         fmt_mr(median_range(t_ref), " s", 3), fmt_mr(ratio, "x")])
            rep.goal(f"{k} equals its reference library ({model})", f"{diff:.1e}", diff <= MAP_TOLERANCE)
            if ratio is not None:
                rep.goal(f"{k}: reference time / helper time ({model})", fmt_mr(ratio, "x"), "info")
        rep.table(f"Newer methods vs their reference libraries, {MODEL_TITLE[model]}, {args.newer_reps} interleaved "
                  f"rounds in one process", ["pair", "max|diff|/max", "helper", "reference", "reference / helper"],
                  rows, f"n = {N_SAMPLES} for SmoothGrad²/VarGrad/expected gradients (the helper's default chunks "
                        f"of 5 for SmoothGrad²/VarGrad, NoiseTunnel at nt_samples_batch_size=5; expected gradients in "
                        f"one batch of {N_SAMPLES}, as GradientShap); Ablation-CAM at "
                        f"{args.newer_ablation_size} px, ROAD (MoRF, 9 percentiles) at {args.newer_road_size} px; "
                        "> 1 means the helper is faster")
