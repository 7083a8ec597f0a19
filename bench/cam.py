"""Section "cam": Grad-CAM and Grad-CAM++ time relative to one plain forward pass (``torch.inference_mode``),
and Grad-CAM checked against Captum ``LayerGradCam(relu_attributions=True)``."""
import time

from bench.harness import median_range, spawn, sync
from bench.report import fmt_mr
from bench.subjects import MAP_TOLERANCE, MODEL_TITLE, map_difference, subject_and_photo

NAME, ORDER = "cam", 30
CAM_VS_FORWARD = 1.3   # goal: a CAM call costs at most this many forward passes


def add_arguments(parser):
    parser.add_argument("--cam-reps", type=int, default=10, help="interleaved rounds of the CAM timing")


def configure(args, parser):
    if args.quick:
        args.cam_reps = 3


def check_cam_agreement(image_model, x, target):
    """Grad-CAM (no upsampling, no normalisation) vs Captum LayerGradCam(relu_attributions=True)."""
    from captum.attr import LayerGradCam
    from xai_helpers.methods.cam import grad_cam, grad_cam_plus_plus
    ours = grad_cam(image_model, x, target, upsample=False, normalize=False)
    theirs = LayerGradCam(image_model.model, image_model.target_layer).attribute(
        x, target=target, relu_attributions=True)[0, 0].detach()
    pp = grad_cam_plus_plus(image_model, x, target)
    return {"grad_cam_vs_captum": map_difference(theirs, ours), "grad_cam_pp_finite": bool(pp.isfinite().all())}


def time_cam(model, device, reps):
    """Worker: ``reps`` interleaved rounds of forward / Grad-CAM / Grad-CAM++ -> {"times", "agreement"}."""
    import torch
    from xai_helpers.methods.cam import grad_cam, grad_cam_plus_plus
    im, x, target = subject_and_photo(model, device)
    out = {"agreement": check_cam_agreement(im, x, target)}

    def forward():
        with torch.inference_mode():
            return im.model(x)
    calls = {"forward": forward, "grad_cam": lambda: grad_cam(im, x, target),
             "grad_cam_pp": lambda: grad_cam_plus_plus(im, x, target)}
    for f in calls.values():   # warm-up
        f()
    out["times"] = {k: [] for k in calls}
    for _ in range(reps):
        for k, f in calls.items():
            sync(device)
            t = time.perf_counter()
            f()
            sync(device)
            out["times"][k].append(time.perf_counter() - t)
    return out


def run(args, rep, tmp):
    for model in args.models:
        res = spawn("bench.cam:time_cam", {"model": model, "device": args.device, "reps": args.cam_reps},
                    threads=args.threads)
        if "failed" in res:
            rep.goal(f"Grad-CAM runs ({model})", res["failed"][:100], False)
            continue
        t, rows = res["times"], []
        for k in ("forward", "grad_cam", "grad_cam_pp"):
            ratio = median_range([a / f for a, f in zip(t[k], t["forward"])])
            rows.append([k, fmt_mr(median_range([v * 1000 for v in t[k]]), " ms", 1), fmt_mr(ratio, "x")])
            if k != "forward":
                rep.goal(f"{k} <= {CAM_VS_FORWARD}x one forward pass ({model})", fmt_mr(ratio, "x"),
                         ratio[0] <= CAM_VS_FORWARD)
        ag = res["agreement"]
        rep.table(f"Grad-CAM / Grad-CAM++ vs one plain forward pass (inference_mode), {MODEL_TITLE[model]}, "
                  f"{args.cam_reps} interleaved rounds", ["call", "time median [min-max]", "time / forward (paired)"],
                  rows, f"Grad-CAM vs Captum LayerGradCam(relu): max|diff|/max = {ag['grad_cam_vs_captum']:.1e}; "
                        f"Grad-CAM++ finite: {ag['grad_cam_pp_finite']}")
        rep.goal(f"Grad-CAM equals Captum LayerGradCam ({model})", f"{ag['grad_cam_vs_captum']:.1e}",
                 ag["grad_cam_vs_captum"] <= MAP_TOLERANCE)
