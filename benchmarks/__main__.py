"""`python -m benchmarks` (make bench): run every comparison, write results/RESULTS.md and the PNG plots.

    python -m benchmarks            # everything, ~10 minutes on 2 cores
    python -m benchmarks --quick    # smaller sizes and fewer points, a smoke run (~1 minute)
    python -m benchmarks --only training accuracy
    python -m benchmarks --only calibration     # error bars against exact gradients (~3 minutes)

`make bench` first runs `make bench-check` (pytest benchmarks/tests): every peer must compute the same function
as toynet before any of them is timed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import Section, have, match_torch_threads, numpy_threads, single_thread

RESULTS = Path(__file__).resolve().parent / "results"
SUITES = ("gradcheck", "accuracy", "detection", "calibration", "training", "grading", "cs231n")
TITLES = {
    "gradcheck": "1. Full gradient check, and scaling with the number of parameters",
    "accuracy": "2. Accuracy of numerical derivatives",
    "detection": "3. Detection: false failures and planted bugs",
    "calibration": "4. Calibration: do the error bars cover the true error?",
    "training": "5. Training throughput against PyTorch",
    "grading": "6. Grading throughput",
    "cs231n": "7. cs231n's gradient-check helpers against cs231n's own loop",
}


def _versions() -> str:
    parts = [f"Python {platform.python_version()}", f"numpy {np.__version__}"]
    for name in ("torch", "scipy", "numdifftools"):
        if have(name):
            parts.append(f"{name} {importlib.import_module(name).__version__}")
        else:
            parts.append(f"{name} not installed (skipped; `pip install -e '.[bench]'`)")
    return ", ".join(parts)


def _busy_note(load: float) -> list[str]:
    """A warning line for RESULTS.md when the machine had more runnable processes than CPUs."""
    if load <= (os.cpu_count() or 1):
        return []
    return [f"- **The machine was busy** (load {load:.1f} on {os.cpu_count()} CPUs, other processes): absolute "
            "times are pessimistic and medians noisy; the ratio targets that say 'interleaved' slow both sides "
            "alike. Rerun on a quiet machine for the record."]


def run_suite(name: str, section: Section, out_dir: Path, quick: bool) -> None:
    if name in ("gradcheck", "detection", "calibration", "cs231n"):
        section.text(
            "Run with numpy's OpenBLAS and torch both pinned to 1 thread: a check evaluates thousands of tiny "
            "(m = 3) forwards that no thread pool speeds up, and on a shared machine idle pool threads only "
            "add contention (torch's full gradcheck measured up to 10x slower with 2 threads under load)."
        )
        with single_thread():
            _run_suite(name, section, out_dir, quick)
    else:
        _run_suite(name, section, out_dir, quick)


def _run_suite(name: str, section: Section, out_dir: Path, quick: bool) -> None:
    if name == "gradcheck":
        from benchmarks import bench_gradcheck

        bench_gradcheck.run(section, out_dir, quick)
    elif name == "accuracy":
        from benchmarks import bench_accuracy

        bench_accuracy.run(section, quick)
    elif name == "detection":
        from benchmarks import bench_detection

        bench_detection.run(section, quick)
    elif name == "calibration":
        from benchmarks import bench_calibration

        bench_calibration.run(section, quick)
    elif name == "training":
        from benchmarks import bench_training

        bench_training.run(section, quick)
    elif name == "cs231n":
        from benchmarks import bench_cs231n

        bench_cs231n.run(section, quick)
    elif name == "grading":
        if importlib.util.find_spec("benchmarks.bench_grading") is None:
            section.text("benchmarks/bench_grading.py does not exist yet: skipped.")
            return
        from benchmarks import bench_grading

        rows = bench_grading.run(out_dir)
        section.text("Written by `benchmarks/bench_grading.py` (see its docstring for the class it grades).")
        keys = [k for k in rows[0] if k != "benchmark"] if rows else []
        section.table(keys, [[row[k] for k in keys] for row in rows])
        for target in bench_grading.targets(rows):
            section.target(*target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few points (a smoke run)")
    parser.add_argument("--only", nargs="+", choices=SUITES, default=list(SUITES), help="run only these")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"output folder (default {RESULTS})")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    torch_threads = match_torch_threads()
    load_before = os.getloadavg()
    start = time.perf_counter()
    sections, summary = [], []
    loads = []  # the 1-minute load average as each section starts: a busy machine slows every timing
    for name in args.only:
        print(f"benchmark: {name} ...", flush=True)
        loads.append(os.getloadavg()[0])
        section = Section(TITLES[name])
        t0 = time.perf_counter()
        try:
            run_suite(name, section, args.out, args.quick)
        except Exception as error:  # one failing suite must not lose the others' results
            section.text(f"**This benchmark failed:** `{type(error).__name__}: {error}`")
            print(f"benchmark {name} failed: {error!r}", file=sys.stderr)
        section.text(f"_({name}: {time.perf_counter() - t0:.0f} s)_")
        sections.append(section)
        summary += [(TITLES[name].split(". ", 1)[1], *t) for t in section.targets]
    total = time.perf_counter() - start
    load_after = os.getloadavg()
    header = [
        "# toynet benchmarks" + (" (quick run: smaller sizes, fewer points)" if args.quick else ""),
        "",
        "Written by `make bench` (`python -m benchmarks`); every comparison runs all its sides in this one "
        "process, back to back, median of repeats (time.perf_counter, after a warm-up).",
        "",
        f"- Machine: {platform.machine()}, {os.cpu_count()} CPUs; {_versions()}.",
        f"- Threads: numpy's OpenBLAS uses {numpy_threads()}"
        + (f"; torch.set_num_threads({torch_threads}) to match (torch runs in this single process), except "
           "where a section says both are pinned to 1." if torch_threads else "."),
        f"- Load average (1 min) before / highest at a section's start / after: {load_before[0]:.1f} / "
        f"{max(loads, default=0.0):.1f} / {load_after[0]:.1f}; total run {total / 60:.1f} min. Other processes on "
        "a shared machine add noise to every timing.",
        *_busy_note(max([load_before[0], load_after[0], *loads])),
        "",
        "## Targets",
        "",
        "| benchmark | target | measured | met |",
        "|---|---|---|---|",
    ]
    from benchmarks.common import verdict

    header += [f"| {bench} | {what} | {measured} | {verdict(ok)} |" for bench, what, measured, ok in summary]
    text = "\n".join(header) + "\n\n" + "\n".join(s.markdown() for s in sections)
    path = args.out / "RESULTS.md"
    path.write_text(text + "\n")
    print(f"wrote {path} ({total:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
