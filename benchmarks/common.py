"""Shared measuring tools: median wall time, peak memory, evaluation counters, thread pinning, tables.

Every comparison runs its sides back to back in the same process with the same thread count, after a
warm-up call, and reports the median of several repeats (time.perf_counter). Peak memory of numpy code is
read with tracemalloc (numpy reports its buffers to it); torch's allocator is invisible to tracemalloc,
so torch's peak is the growth of the resident set (ru_maxrss) in a fresh child process.
"""

from __future__ import annotations

import ctypes
import glob
import importlib.util
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def have(module: str) -> bool:
    """True when `module` can be imported (peers are optional: the `bench` extra installs them)."""
    return importlib.util.find_spec(module) is not None


def numpy_threads() -> int:
    """The number of threads numpy's BLAS (OpenBLAS) uses, read from the library itself when possible."""
    pattern = os.path.join(os.path.dirname(np.__file__) + ".libs", "libscipy_openblas*.so")
    for path in glob.glob(pattern):
        lib = ctypes.CDLL(path)
        symbols = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads")
        for symbol in symbols:
            if hasattr(lib, symbol):
                return int(getattr(lib, symbol)())
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return os.cpu_count() or 1


def set_numpy_threads(threads: int) -> bool:
    """Set OpenBLAS's thread count at run time (True when the library exposed the setter)."""
    pattern = os.path.join(os.path.dirname(np.__file__) + ".libs", "libscipy_openblas*.so")
    for path in glob.glob(pattern):
        lib = ctypes.CDLL(path)
        setters = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads")
        for symbol in setters:
            if hasattr(lib, symbol):
                getattr(lib, symbol)(ctypes.c_int(threads))
                return True
    return False


@contextmanager
def single_thread() -> Iterator[None]:
    """numpy's OpenBLAS and torch (when installed) both on one thread inside the block, restored after."""
    blas = numpy_threads()
    torch: Any = importlib.import_module("torch") if have("torch") else None
    intra = torch.get_num_threads() if torch else None
    set_numpy_threads(1)
    if torch:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        set_numpy_threads(blas)
        if torch:
            torch.set_num_threads(intra)


def match_torch_threads() -> int | None:
    """Give torch the same number of intra-op threads as numpy's BLAS; returns it (None without torch)."""
    if not have("torch"):
        return None
    import torch

    threads = numpy_threads()
    torch.set_num_threads(threads)
    return threads


@dataclass
class Timing:
    """Wall times of repeated calls (seconds): the median and every run."""

    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def time_it(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1, budget: float = 20.0) -> Timing:
    """Median-of-`repeats` wall time of fn() after `warmup` calls; stops early (>= 3 runs) past `budget` s."""
    runs: list[float] = []
    for _ in range(warmup):
        t0 = time.perf_counter()
        fn()
        if time.perf_counter() - t0 > budget / 4:  # a slow call is its own warm-up: keep it, run once more
            runs.append(time.perf_counter() - t0)
            repeats = 2 if runs[0] < budget / 2 else 1
            break
    start = time.perf_counter()
    while len(runs) < repeats:
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
        if len(runs) >= 3 and time.perf_counter() - start > budget:
            break
    return Timing(runs)


def time_interleaved(fns: dict[str, Callable[[], Any]], repeats: int = 7) -> dict[str, Timing]:
    """Wall times of several sides run in turn (a, b, c, a, b, c, ...) after one warm-up call each.

    Interleaving spreads any drift of the machine (other processes, frequency changes) over every side
    instead of charging it to whichever side happened to run during it.
    """
    for fn in fns.values():
        fn()
    runs: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            runs[name].append(time.perf_counter() - t0)
    return {name: Timing(times) for name, times in runs.items()}


def peak_traced_mb(fn: Callable[[], Any]) -> float:
    """Peak memory (MB) allocated through Python and numpy while fn() runs, above what existed before."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - before) / 1e6


def rss_mb() -> float:
    """Current resident set size of this process (MB), from /proc (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def max_rss_mb() -> float:
    """The resident-set high-water mark of this process (MB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # KB on Linux


class Counter:
    """Wraps a scalar function f(x) and counts its evaluations."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn, self.calls = fn, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.fn(*args, **kwargs)


@dataclass
class Section:
    """One section of RESULTS.md: a title, paragraphs and markdown tables, and the PNGs it drew."""

    title: str
    lines: list[str] = field(default_factory=list)
    targets: list[tuple[str, str, bool | None]] = field(default_factory=list)

    def text(self, *paragraphs: str) -> None:
        for paragraph in paragraphs:
            self.lines += [paragraph, ""]

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.lines.append("| " + " | ".join(header) + " |")
        self.lines.append("|" + "|".join("---" for _ in header) + "|")
        for row in rows:
            self.lines.append("| " + " | ".join(fmt(cell) for cell in row) + " |")
        self.lines.append("")

    def target(self, what: str, measured: str, met: bool | None) -> None:
        """Record a target with its measured value (met: True/False, None when it could not be measured)."""
        self.targets.append((what, measured, met))

    def markdown(self) -> str:
        out = [f"## {self.title}", ""] + self.lines
        if self.targets:
            out += ["| target | measured | met |", "|---|---|---|"]
            out += [f"| {w} | {m} | {verdict(ok)} |" for w, m, ok in self.targets]
            out.append("")
        return "\n".join(out)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def fmt(cell: Any) -> str:
    """Numbers in a compact form: 3 significant digits, scientific for very small or large values."""
    if isinstance(cell, bool) or cell is None:
        return "-" if cell is None else str(cell)
    if isinstance(cell, (int, np.integer)):
        return f"{int(cell):,}"
    if isinstance(cell, (float, np.floating)):
        x = float(cell)
        if x == 0:
            return "0"
        if not np.isfinite(x):
            return str(x)
        return f"{x:.3g}" if 1e-3 <= abs(x) < 1e5 else f"{x:.2e}"
    return str(cell)


def seconds(t: float) -> str:
    """A duration with a unit that keeps 3 significant digits readable."""
    if t < 1e-3:
        return f"{t * 1e6:.3g} us"
    if t < 1:
        return f"{t * 1e3:.3g} ms"
    return f"{t:.3g} s"
