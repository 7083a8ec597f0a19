"""Section "groundtruth": time per scene of every attribution method on the ground-truth CNN (4.5).

For each method of ``xai_helpers.evaluation.groundtruth.SCORED_METHODS`` on the shipped clean CNN and held-out scenes,
measured in a fresh process per torch thread count (``spawn``): the batched path the lesson uses
(``groundtruth.attribution_maps``, many scenes per call) and the helper called once per scene
(``xh.vanilla_gradients(model, x[i:i+1], target)`` ...) on fewer scenes, as CPU seconds (user + system) and
wall seconds per scene, median [min-max] over rounds. Then the CPU time of the whole computation of 4.5
(5 CNNs x scenes x 9 methods + the accuracy table) and IG's worst completeness error at the lesson's steps.
"""
import statistics
import time

from bench.harness import spawn

NAME, ORDER = "groundtruth", 50
LESSON_CPU_SECONDS = 60    # goal: the whole ground-truth computation of 4.5 within a minute of CPU


def add_arguments(parser):
    parser.add_argument("--gt-scenes", type=int, default=160, help="held-out scenes per method (the lesson's 160)")
    parser.add_argument("--gt-single", type=int, default=40, help="scenes for the one-call-per-scene timing")
    parser.add_argument("--gt-rounds", type=int, default=3, help="rounds of the ground-truth timing")
    parser.add_argument("--gt-threads", default="1,2", help="torch thread counts measured")


def configure(args, parser):
    if args.quick:
        args.gt_scenes, args.gt_single, args.gt_rounds, args.gt_threads = 24, 4, 1, "1"


def per_scene_call(model, method, x, t):
    """One helper call for one scene [1, 1, 48, 48] -- the unbatched way."""
    import xai_helpers as xh
    from xai_helpers import evaluation as ev
    from xai_helpers.evaluation import groundtruth as gt
    calls = {
        "vanilla_gradients": lambda: xh.vanilla_gradients(model, x, t),
        "gradient_x_input": lambda: xh.gradient_x_input(model, x, t),
        "smoothgrad": lambda: xh.smoothgrad(model, x, t, n_samples=gt.SMOOTHGRAD_SAMPLES, noise_level=gt.NOISE_LEVEL,
                                            batch_size=gt.SMOOTHGRAD_SAMPLES),
        "integrated_gradients_black": lambda: xh.integrated_gradients(model, x, t, baseline=x * 0, n_steps=gt.IG_STEPS,
                                                      batch_size=gt.IG_STEPS)[0],
        "integrated_gradients_blur": lambda: xh.integrated_gradients(model, x, t,
                                                              baseline=gt._blurred(x, gt.SCENE_BLUR_SIGMA),
                                                     n_steps=gt.IG_STEPS, batch_size=gt.IG_STEPS)[0],
        "grad_cam": lambda: xh.grad_cam(model, x, t, layer=gt.DigitCNN.target_layer),
        "grad_cam_plus_plus": lambda: xh.grad_cam_plus_plus(model, x, t, layer=gt.DigitCNN.target_layer),
        "random_map": lambda: ev.random_map(None, x),
        "edge_map": lambda: ev.edge_map(None, x),
    }
    return calls[method]()


def _clock(fn):
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def measure(n_scenes, n_single, rounds, threads):
    """Worker: {method: {"batched": [(cpu, wall) per scene per round], "single": [...]}} at ``threads`` threads."""
    from xai_helpers.evaluation import groundtruth as gt
    scenes, model = gt.make_scenes(n_scenes, marks="own"), gt.load_digit_cnn(0.0)
    out = {m: {"batched": [], "single": []} for m in gt.SCORED_METHODS}
    gt.attribution_maps(model, scenes.images[:16], scenes.labels[:16], threads=threads)        # warm-up
    for _ in range(rounds):
        for m in gt.SCORED_METHODS:
            cpu, wall = _clock(lambda: gt.attribution_maps(model, scenes.images, scenes.labels, methods=(m,),
                                                           threads=threads))
            out[m]["batched"].append((cpu / len(scenes), wall / len(scenes)))
            xs, ts = scenes.images[:n_single], scenes.labels[:n_single]
            cpu, wall = _clock(lambda: [per_scene_call(model, m, xs[i:i + 1], int(ts[i])) for i in range(n_single)])
            out[m]["single"].append((cpu / n_single, wall / n_single))
    return out


def lesson(n_scenes):
    """Worker: CPU and wall seconds of the lesson's computation with the package's defaults (the accuracy table of
    the four CNNs; every method for the clean CNN, the 100 % shortcut CNN and three random-weights CNNs), and the
    worst IG error of the two trained CNNs (a random-weights CNN's F(x) - F(x') is tiny: not read)."""
    from xai_helpers.evaluation import groundtruth as gt
    scenes = gt.make_scenes(n_scenes, marks="own")
    models = {s: gt.load_digit_cnn(s) for s in gt.STRENGTHS}
    explained = {"clean": models[0.0], "shortcut": models[1.0],
                 **{f"random weights {k}": gt.random_digit_cnn(k) for k in range(3)}}
    errors = []

    def compute():
        gt.accuracy_table(models, n=len(scenes))
        for i, (name, model) in enumerate(explained.items()):
            _, result = gt.method_table(model, scenes, seed=1000 * (i + 1))
            if not name.startswith("random"):
                errors.extend(e.max().item() for e in result.ig_error.values())
    cpu, wall = _clock(compute)
    return {"cpu": cpu, "wall": wall, "worst_ig_error": max(errors)}


def _mr(values, scale=1e3):
    v = [x * scale for x in values]
    return f"{statistics.median(v):.2f} [{min(v):.2f}-{max(v):.2f}]"


def _rows(per_method):
    rows = []
    for m, r in per_method.items():
        (b_cpu, b_wall), (s_cpu, s_wall) = zip(*r["batched"]), zip(*r["single"])
        rows.append([m, _mr(b_cpu), _mr(b_wall), _mr(s_cpu), _mr(s_wall),
                     f"{statistics.median(s_cpu) / max(statistics.median(b_cpu), 1e-9):.1f}x"])
    return rows


def run(args, rep, tmp):
    header = ["method", "batched: CPU ms/scene", "batched: wall ms/scene", "one call per scene: CPU ms",
              "one call per scene: wall ms", "batched speed-up (CPU)"]
    for threads in [int(t) for t in args.gt_threads.split(",")]:
        res = spawn("bench.groundtruth:measure", {"n_scenes": args.gt_scenes, "n_single": args.gt_single,
                                                  "rounds": args.gt_rounds, "threads": threads}, threads=threads)
        if "failed" in res:
            rep.goal(f"ground-truth timing runs ({threads} threads)", res["failed"][:100], False)
            continue
        rep.table(f"Ground-truth CNN (4.5): time per scene of each method, torch threads {threads}", header,
                  _rows({m: r for m, r in res.items() if m != "tree_peak"}),
                  note=f"{args.gt_scenes} scenes, one call per scene on {args.gt_single}; median [min-max] over "
                       f"{args.gt_rounds} rounds; CPU = user + system time of the process.")
    res = spawn("bench.groundtruth:lesson", {"n_scenes": args.gt_scenes}, threads=1)
    if "failed" in res:
        rep.goal("ground-truth lesson computation runs", res["failed"][:100], False)
        return
    rep.goal(f"whole ground-truth computation of 4.5 <= {LESSON_CPU_SECONDS} s CPU ({args.gt_scenes} scenes)",
             f"{res['cpu']:.1f} s CPU, {res['wall']:.1f} s wall", res["cpu"] <= LESSON_CPU_SECONDS)
    rep.goal("IG completeness error <= 5 % on every scored scene (lesson's steps)",
             f"{res['worst_ig_error']:.2%}", res["worst_ig_error"] <= 0.05)
