"""The set-wide checks of lesson 4.5, measured once on the evaluation photo set and shipped as small tables.

For every photo of ``xh.data.load_photo_set()`` and the default image model:

* the pointing game on every boxed class: Grad-CAM, SmoothGrad (16 samples), the edge detector, the random
  map (hit rate over ``N_RANDOM`` draws) and a centre prior (a map that always peaks at the centre of the view);
* deletion and insertion AUCs (``xh.evaluation.faithfulness``, 9 points per curve, pixels -> black and
  -> blur) of the main class's maps: Grad-CAM, IG from black (64 steps), IG ranked by |map|, SmoothGrad,
  the edge detector, and ``N_RANDOM`` random maps (seeds 0..N_RANDOM-1), photo by photo.

* ROAD (``xh.evaluation.road``, Rong et al. 2022: pixels removed most relevant first and filled by noisy linear
  imputation) at ``ROAD_PERCENTILES`` for the same maps and ``N_RANDOM_ROAD`` random maps, photo by photo.

* the ground-truth lab of section 5 (``--groundtruth``, about 25 s on one core): the five digit CNNs (clean,
  shortcut, three random-weights controls), each explaining the first ``GT_SCENES`` scenes with the course's own
  mark with every scored method (``gt.method_table``, seed 1000 x (i + 1) for the i-th CNN, as the lesson draws
  them): the method table per CNN with IG's largest completeness error per baseline
  (4_5_groundtruth_tables.csv), and the mass on the mark per scene, method and CNN in multiples of chance, at
  Grad-CAM's cells and pixel by pixel (``gt.mark_scores``; 4_5_groundtruth_marks.csv).

* the cascading randomisation of section 4.1 (``xh.evaluation.model_randomisation_test``) on the lesson's three
  photos, with its three seeds: every seed's correlations and the two-seed floor. The lesson recomputes seed 0
  live (it draws its maps) and reads seeds 1 and 2 from this table.

Writes data/measured/4_5_faithfulness.csv, 4_5_pointing.csv and 4_5_ig.csv (IG's completeness per map),
4_5_road.csv (``--road``: only the ROAD part, about 15 min) and 4_5_randomisation.csv (``--sanity``: only the
randomisation, about a minute). ``--ig-blur`` adds (or replaces) the rows of IG from the blurred photo (64 steps,
the baseline of the lesson's section 4.2 link experiment) in 4_5_faithfulness.csv and 4_5_ig.csv, about 4 min:
its deletion/insertion AUCs under both replacements and its completeness error, photo by photo.
The integration tier (tests/integration/test_measured_4_5.py) recomputes a random subset with
``measure_photo``, ``point_photo``, ``road_photo`` and ``sanity_rows`` below (two random seeds) and asserts
that it agrees with the shipped tables.

    python tools/measure_4_5.py                   # all photos (about 40 min on 2 busy cores)
    python tools/measure_4_5.py --photos dog cat  # a subset, printed, not written
    python tools/measure_4_5.py --groundtruth     # the ground-truth lab's two tables
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import xai_helpers as xh  # noqa: E402

ev = xh.evaluation
OUT = ROOT / "data" / "measured"
FRACTIONS = (0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0)   # 9 points per curve, denser where curves fall fastest
N_RANDOM = 20           # random maps per photo (seeds 0..19)
IG_STEPS = 64
N_SAMPLES = 16
METHODS = ("Grad-CAM", "IG (black baseline)", "IG ranked by |map|", "SmoothGrad", "edge detector")
ROAD_PERCENTILES = (10, 30, 50, 70, 90)   # keeps the lowest p %: removes 90 %, 70 %, ..., 10 % of the pixels
N_RANDOM_ROAD = 10      # random maps per photo for ROAD (seeds 0..9)
POINTING_METHODS = ("Grad-CAM", "SmoothGrad", "edge detector", "random", "centre prior")
# The randomisation of the lesson's section 4.1: its photos, depths (output layer, top third, all), seeds, settings
SANITY_PHOTOS = ("dog", "squirrel", "coffee")
SANITY_DEPTHS = ("_fc", "_blocks.11", "_conv_stem")
SANITY_SEEDS = (0, 1, 2)
SANITY_SETTINGS = dict(n_samples=4, batch_size=3)
GT_SCENES = 160         # the ground-truth lab's scenes: the first 160 of gt.make_scenes(200, marks="own")
GT_CELLS = ("cam", 1)   # mark scores at Grad-CAM's cells (gt.CAM_CELL) and pixel by pixel
GT_PIXEL_METHODS = ("gradient_x_input", "integrated_gradients_black", "integrated_gradients_blur")


def explainers():
    """The map makers of the lesson: Grad-CAM, IG from black and from blur, SmoothGrad."""
    made = xh.interpret.image_explainers(("grad_cam", "integrated_gradients", "smoothgrad"), n_steps=IG_STEPS,
                                         n_samples=N_SAMPLES)
    made["ig_blur"] = xh.interpret.image_explainers(("integrated_gradients",), n_steps=IG_STEPS,
                                                    ig_baseline="blur")["integrated_gradients"]
    return made


def centre_prior(size=224):
    """A map that peaks at the centre of the view and falls off with the distance from it."""
    yy, xx = np.mgrid[0:size, 0:size]
    c = (size - 1) / 2
    return np.exp(-((xx - c) ** 2 + (yy - c) ** 2) / (2 * (size / 4) ** 2)).astype(np.float32)


def class_maps(image_model, x, target, made, with_blur=True):
    """The lesson's maps of one class, and IG's completeness records {baseline: relative error}."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # an IG error above 5 % is recorded, not shown
        maps = {"Grad-CAM": made["grad_cam"](image_model, x, target),
                "IG (black baseline)": made["integrated_gradients"](image_model, x, target),
                "SmoothGrad": made["smoothgrad"](image_model, x, target)}
        ig = {"black": made["integrated_gradients"].completeness[-1]}
        if with_blur:
            maps["IG (blur baseline)"] = made["ig_blur"](image_model, x, target)
            ig["blur"] = made["ig_blur"].completeness[-1]
    maps = {k: xh.to_numpy(v) for k, v in maps.items()}
    maps["IG ranked by |map|"] = np.abs(maps["IG (black baseline)"])
    maps["edge detector"] = xh.to_numpy(ev.edge_map(image_model, x))
    return maps, ig


def measure_photo(image_model, item, made, n_random=N_RANDOM, methods=METHODS, batch_size=32,
                  replacements=ev.REPLACEMENTS):
    """Deletion/insertion AUCs of one photo's main class: a DataFrame, one row per replacement, method and draw."""
    x = image_model.preprocess(item.image)
    target = item.indices[0]
    maps, ig = class_maps(image_model, x, target, made, with_blur="IG (blur baseline)" in methods)
    maps = {k: maps[k] for k in methods}
    for draw in range(n_random):
        maps[f"random {draw}"] = xh.to_numpy(ev.random_map(image_model, x, seed=draw))
    return (*_scored(image_model, item, x, target, maps, ig, batch_size, replacements), maps)


def ig_blur_photo(image_model, item, made):
    """IG from the blurred photo (64 steps) of one photo's main class -> (its deletion/insertion AUCs under both
    replacements, as ``measure_photo``'s rows with the method "IG (blur baseline)"; its completeness row)."""
    import warnings
    x = image_model.preprocess(item.image)
    target = item.indices[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # an IG error above 5 % is recorded, not shown
        blur_map = xh.to_numpy(made["ig_blur"](image_model, x, target))
    return _scored(image_model, item, x, target, {"IG (blur baseline)": blur_map},
                   {"blur": made["ig_blur"].completeness[-1]})


def _scored(image_model, item, x, target, maps, ig, batch_size=32, replacements=ev.REPLACEMENTS):
    """The rows of one photo's ``maps`` ({method or "random <draw>": map}) and IG records ({baseline: record}) ->
    (deletion/insertion AUCs: one row per replacement, method and draw, with the class probability; IG's rows)."""
    result = ev.faithfulness(image_model, [x], maps={"image 0": maps}, targets=[target], fractions=FRACTIONS,
                             batch_size=batch_size, replacements=replacements)
    table = result.table.drop(columns="image").assign(photo=item.name, cls=item.classes[0])
    table["draw"] = table["method"].str.extract(r"^random (\d+)$")[0].astype(float)
    table.loc[table["draw"].notna(), "method"] = "random"
    with torch.no_grad():
        p = float(image_model.model(x).softmax(-1)[0, target])
    ig_rows = [{"photo": item.name, "cls": item.classes[0], "baseline": b, "relative_error": r["relative_error"],
                "score_difference": r["score_difference"]} for b, r in ig.items()]
    return table.assign(p_class=p), pd.DataFrame(ig_rows)


def point_photo(image_model, item, made, n_random=N_RANDOM):
    """Pointing-game trials of every boxed class of one photo: one row per class and method (no IG: its 64
    steps per class cost more than the rest of the set)."""
    x = image_model.preprocess(item.image)
    rows, centre = [], centre_prior(x.shape[-1])
    for cls, index in zip(item.classes, item.indices):
        box = item.boxes[cls]
        maps = {"Grad-CAM": made["grad_cam"](image_model, x, index),
                "SmoothGrad": made["smoothgrad"](image_model, x, index),
                "edge detector": ev.edge_map(image_model, x), "centre prior": centre}
        base = {"photo": item.name, "cls": cls, "chance": ev.pointing_game_chance(box, size=tuple(x.shape[-2:]))}
        rows += [{**base, "method": name, "hit": float(ev.pointing_game_hit(m, box))} for name, m in maps.items()]
        draws = [ev.pointing_game_hit(ev.random_map(image_model, x, seed=d), box) for d in range(n_random)]
        rows.append({**base, "method": "random", "hit": float(np.mean(draws))})
    return pd.DataFrame(rows)


def road_photo(image_model, item, made, n_random=N_RANDOM_ROAD, methods=METHODS, maps=None):
    """ROAD (most relevant first) of one photo's main class: one row per method and draw, the mean change of the
    target's logit over ``ROAD_PERCENTILES`` (more negative: the removed pixels mattered more). ``maps``: the
    photo's class maps when the caller has them already (``measure_photo``'s third result, the same
    ``class_maps``); by default they are computed here."""
    x = image_model.preprocess(item.image)
    target = item.indices[0]
    if maps is None:
        maps, _ = class_maps(image_model, x, target, made, with_blur=False)
    maps = {k: maps[k] for k in methods}
    for draw in range(n_random):
        maps[f"random {draw}"] = xh.to_numpy(ev.random_map(image_model, x, seed=draw))
    rows = []
    for name, m in maps.items():
        result = ev.road(image_model, x, target, m, percentiles=ROAD_PERCENTILES, order="morf", seed=0)
        draw = float(name.split()[1]) if name.startswith("random ") else np.nan
        rows.append({"photo": item.name, "cls": item.classes[0], "method": "random" if draw == draw else name,
                     "draw": draw, "road_morf": result.mean_score,
                     **{f"removed_{int(100 - p)}": s for p, s in zip(ROAD_PERCENTILES, result.scores)}})
    return pd.DataFrame(rows)


def groundtruth_cnns():
    """The lab's five digit CNNs, in the lesson's order: clean, shortcut (mark on every training scene), and three
    with random weights (seeds 0, 1, 2)."""
    gt = xh.evaluation.groundtruth
    return {"clean": gt.load_digit_cnn(0.0), "shortcut": gt.load_digit_cnn(1.0),
            **{f"random weights {k}": gt.random_digit_cnn(seed=k) for k in range(3)}}


def groundtruth_scenes():
    return xh.evaluation.groundtruth.make_scenes(200, marks="own")[:GT_SCENES]


def groundtruth_rows(names=None):
    """The lab's two tables for the CNNs ``names`` (default: all five) -> (method tables: one row per CNN and
    method, with IG's largest completeness error per baseline; mark scores: one row per CNN, cell and scene, one
    column per method; pixel by pixel only for the per-pixel methods the lesson reads there)."""
    gt = xh.evaluation.groundtruth
    scenes = groundtruth_scenes()
    tables, marks = [], []
    for i, (name, cnn) in enumerate(groundtruth_cnns().items()):
        if names is not None and name not in names:
            continue
        table, maps = gt.method_table(cnn, scenes, seed=1000 * (i + 1))
        errors = {f"ig_error_{b}": float(e.max()) for b, e in maps.ig_error.items()}
        tables.append(table.rename_axis("method").reset_index().assign(cnn=name, **errors))
        for cell in GT_CELLS:
            scores = gt.mark_scores(maps, scenes, cell=gt.CAM_CELL if cell == "cam" else cell)
            scores = scores if cell == "cam" else scores[list(GT_PIXEL_METHODS)]
            marks.append(scores.reset_index().assign(cnn=name, cell=cell))
    tables, marks = pd.concat(tables, ignore_index=True), pd.concat(marks, ignore_index=True)
    first = ["cnn", "method"], ["cnn", "cell", "scene"]
    return (tables[first[0] + [c for c in tables if c not in first[0]]],
            marks[first[1] + [c for c in marks if c not in first[1]]])


def sanity_rows(image_model, seeds=SANITY_SEEDS):
    """The cascading randomisation of the lesson's three photos for ``seeds``: one DataFrame, the correlation rows
    of every seed x depth x method x photo (``kind`` "cascade") and the floor between every two seeds' fully
    random copies (``kind`` "floor", ``seeds`` "a vs b")."""
    result = ev.model_randomisation_test(image_model, list(SANITY_PHOTOS), depths=SANITY_DEPTHS, seeds=seeds,
                                         explainers={"edge_map": ev.edge_map}, **SANITY_SETTINGS)
    return pd.concat([result.table.assign(kind="cascade"), result.floor.assign(kind="floor")], ignore_index=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", nargs="+", help="names from the photo set (default: all; then the tables are written)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--road", action="store_true", help="only the ROAD part (writes 4_5_road.csv)")
    parser.add_argument("--ig-blur", action="store_true",
                        help="only IG from the blurred photo (adds its rows to 4_5_faithfulness.csv and 4_5_ig.csv)")
    parser.add_argument("--groundtruth", action="store_true",
                        help="only the ground-truth lab (writes 4_5_groundtruth_tables.csv and 4_5_groundtruth_marks.csv)")
    parser.add_argument("--sanity", action="store_true",
                        help="only the randomisation of section 4.1 (writes 4_5_randomisation.csv)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    image_model = xh.load_image_model()
    made = explainers()
    if args.groundtruth:
        start = time.time()
        tables, marks = groundtruth_rows()
        OUT.mkdir(parents=True, exist_ok=True)
        tables.to_csv(OUT / "4_5_groundtruth_tables.csv", index=False, float_format="%.6g")
        marks.to_csv(OUT / "4_5_groundtruth_marks.csv", index=False, float_format="%.5g")
        print(f"{len(tables)} method rows, {len(marks)} scene rows in {time.time() - start:.0f} s")
        return
    if args.sanity:
        rows = sanity_rows(image_model)
        OUT.mkdir(parents=True, exist_ok=True)
        rows[["kind", "image", "seed", "seeds", "depth", "stage", "method", "rho", "rho_abs"]].to_csv(
            OUT / "4_5_randomisation.csv", index=False, float_format="%.6g")
        print(rows.groupby(["kind", "method"])[["rho", "rho_abs"]].mean().round(3))
        return
    items = [p for p in xh.data.load_photo_set() if not args.photos or p.name in args.photos]
    if args.ig_blur:
        faith, ig = [], []
        for item in items:
            start = time.time()
            table, ig_row = ig_blur_photo(image_model, item, made)
            faith.append(table), ig.append(ig_row)
            print(f"{item.name:14s} {time.time() - start:5.0f} s  completeness error {ig_row['relative_error'].item():.1%}",
                  flush=True)
        faith, ig = (pd.concat(t, ignore_index=True) for t in (faith, ig))
        if args.photos:
            print(faith.round(4))
            return
        shipped = pd.read_csv(OUT / "4_5_faithfulness.csv")
        shipped_ig = pd.read_csv(OUT / "4_5_ig.csv")
        write([shipped[shipped["method"] != "IG (blur baseline)"], faith],
              [shipped_ig[shipped_ig["baseline"] != "blur"], ig])
        return
    if args.road:
        road = []
        for item in items:
            start = time.time()
            road.append(road_photo(image_model, item, made))
            print(f"{item.name:14s} {time.time() - start:5.0f} s", flush=True)
            if not args.photos:
                pd.concat(road, ignore_index=True).to_csv(OUT / "4_5_road.csv", index=False, float_format="%.6g")
        print(pd.concat(road).groupby("method")["road_morf"].mean().round(3))
        return
    point = pd.concat([point_photo(image_model, item, made) for item in items], ignore_index=True)
    print(point.groupby("method")["hit"].mean().round(3), flush=True)
    if not args.photos:
        OUT.mkdir(parents=True, exist_ok=True)
        point.to_csv(OUT / "4_5_pointing.csv", index=False, float_format="%.6g")
    faith, ig = [], []
    for item in items:
        start = time.time()
        table, ig_rows, _ = measure_photo(image_model, item, made)
        blur_table, blur_ig = ig_blur_photo(image_model, item, made)        # the --ig-blur part, in the same tables
        faith.extend([table, blur_table]), ig.extend([ig_rows, blur_ig])
        black = table[table["replacement"] == "black"].groupby("method")["deletion_auc"].mean()
        print(f"{item.name:14s} {time.time() - start:5.0f} s  deletion black: Grad-CAM {black['Grad-CAM']:.3f}, "
              f"random {black['random']:.3f}", flush=True)
        if not args.photos:
            write(faith, ig)
    if args.photos:
        faith = pd.concat(faith, ignore_index=True)
        print(faith.groupby(["method", "replacement"])[["deletion_auc", "insertion_auc"]].mean().round(3))

def write(faith, ig):
    """The faithfulness tables, rewritten after every photo (a partial run leaves the photos done so far)."""
    faith, ig = (pd.concat(t, ignore_index=True) for t in (faith, ig))
    OUT.mkdir(parents=True, exist_ok=True)
    faith[["photo", "cls", "p_class", "replacement", "method", "draw", "deletion_auc", "insertion_auc"]].to_csv(
        OUT / "4_5_faithfulness.csv", index=False, float_format="%.6g")
    ig.to_csv(OUT / "4_5_ig.csv", index=False, float_format="%.6g")

if __name__ == "__main__":
    began = time.time()
    main()
    print(f"{time.time() - began:.0f} s")
