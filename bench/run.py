"""Performance benchmark of the course.  Run:  make bench
(or  python bench/run.py [--repeats 3] [--quick] [--only smoothgrad,ig,cam,notebooks] [--device cpu]).

Runs every section of bench/ in order (smoothgrad, ig, cam, notebooks, then any section added later;
see bench/README.md), prints each table, then the goals with MET / NOT MET, and writes bench/RESULTS.md
(--results). Timings are wall-clock on a shared machine: read the load average printed with them.
"""
import argparse
import importlib
import pkgutil
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0]).resolve() == BENCH:   # run as a script: import bench/* as the package
    sys.path[0] = str(BENCH.parent)

from bench.harness import loadavg  # noqa: E402
from bench.report import Report, machine_info, write_markdown  # noqa: E402
from bench.subjects import MODELS  # noqa: E402

NOT_SECTIONS = {"harness", "report", "subjects", "run"}
BROKEN = {}   # bench module -> the error that stopped its import (reported as a goal NOT MET)


def sections():
    """{name: module} of every section in bench/ (a module with NAME and run), ordered by ORDER."""
    found = []
    for info in pkgutil.iter_modules([str(BENCH)]):
        if info.name in NOT_SECTIONS or info.name.startswith("_"):
            continue
        try:
            module = importlib.import_module(f"bench.{info.name}")
        except Exception as err:  # one broken plug-in must not stop the others
            BROKEN[info.name] = f"{type(err).__name__}: {err}"[:200]
            print(f"bench: section module {info.name} does not import: {BROKEN[info.name]}", file=sys.stderr)
            continue
        if hasattr(module, "NAME") and hasattr(module, "run"):
            found.append(module)
    return {m.NAME: m for m in sorted(found, key=lambda m: (getattr(m, "ORDER", 100), m.NAME))}


def parse_args(argv, available=None):
    available = available or sections()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3, help="rounds per timing (default 3)")
    ap.add_argument("--quick", action="store_true", help="a fast check of the machinery: 1 round, small sizes")
    ap.add_argument("--only", default=",".join(available),
                    help=f"comma list of sections, run in this order (default: all: {','.join(available)})")
    ap.add_argument("--device", default="cpu", help="torch device (default cpu)")
    ap.add_argument("--models", default=",".join(MODELS), help="comma list (efficientnet_lite0,resnet50,resnet18,tiny)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads per process (0: torch's default)")
    ap.add_argument("--results", default=str(BENCH / "RESULTS.md"), help="'' to write nothing")
    ap.add_argument("--note", default="", help="a sentence added to RESULTS.md (e.g. about machine load)")
    for module in available.values():
        if hasattr(module, "add_arguments"):
            module.add_arguments(ap.add_argument_group(f"section {module.NAME}"))
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats = 1
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    args.models = [s.strip() for s in args.models.split(",") if s.strip()]
    unknown = set(args.only) - set(available)
    if unknown:
        ap.error(f"unknown section(s) {sorted(unknown)}; available: {', '.join(available)}")
    for module in available.values():
        if hasattr(module, "configure"):
            module.configure(args, ap)
    return args


def run_sections(args, available, rep, info, argv, t0):
    with tempfile.TemporaryDirectory(prefix="xai_bench_") as tmp:
        for name in args.only:  # in the order given
            t = time.perf_counter()
            try:
                available[name].run(args, rep, tmp)
            except Exception as err:  # a section that breaks (e.g. a helper renamed): say so, go on
                rep.goal(f"section {name} ran", f"{type(err).__name__}: {err}"[:200], False)
                rep.notes.append(f"section {name} failed: {type(err).__name__}: {err}")
            print(f"[{name}: {time.perf_counter() - t:.0f} s]", flush=True)
            if args.results and name != args.only[-1]:  # a run cut short still leaves what it measured
                info["load_end"] = loadavg()
                write_markdown(args.results, info, rep, args, time.perf_counter() - t0, argv,
                               partial=f"PARTIAL: written after section '{name}'; the run was still going.")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    available = sections()
    args = parse_args(argv, available)
    info = machine_info(args)
    print(f"bench/run.py  {info['date']}  {info['cpu']} x{info['cores']}  torch {info['torch']}  "
          f"captum {info['captum']}  device {args.device}  load {info['load_start']}", flush=True)
    rep, t0 = Report(), time.perf_counter()
    for name, error in BROKEN.items():
        rep.goal(f"bench/{name}.py imports", error, False)
    run_sections(args, available, rep, info, argv, t0)
    seconds = time.perf_counter() - t0
    info["load_end"] = loadavg()
    rep.print_goals()
    print(f"\ntotal {seconds / 60:.1f} min; load average at start {info['load_start']}, at end {info['load_end']}")
    if args.results:
        write_markdown(args.results, info, rep, args, seconds, argv)
        print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
