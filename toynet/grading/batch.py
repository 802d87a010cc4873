"""`toynet grade` over a class, and past one machine: what to grade, each result saved as it comes, shards, merge.

    Batch(paths, bundle_dir, out).run()   grades what `out` lacks (or holds for other bytes or another bundle),
                                          writing each result the moment it is graded, then class.csv
    Batch(..., shard=(i, n))              only the submissions whose name falls in shard i of n (results.shard_of)
    merge([folders], out)                 one folder, class.csv and merge-report.txt from the shards' folders,
                                          checked complete against each shard's list

A grader killed at any moment (SIGKILL, a node lost) loses only the submissions it was grading: the same command
run again grades what is missing. Files on disk are results.py's; grading itself is grade.py's.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toynet.grading import outputs
from toynet.grading.grade import BUNDLE_FILE, SubmissionResult, grade_many, write_results
from toynet.grading.results import (
    MAX_RESULT_BYTES,
    Record,
    ResultFolder,
    display,
    file_digest,
    read_folder,
    read_record,
    result_file,
    shard_of,
    submission_name,
)

CSV_EVERY = 30.0  # seconds between rewrites of class.csv during a batch (each result file is written at once)
SHOWN = 20  # names listed in a merge report before "and N more"
REPORT_NAME = "merge-report.txt"  # what `merge` printed, kept beside class.csv


class BatchError(ValueError):
    """A batch that cannot start: no notebooks, a malformed --shard, no bundle, a folder that is not one."""


def submissions(arguments: Sequence[str]) -> list[str]:
    """Notebook paths: files as given, folders as every .ipynb below them (sorted); each name once."""
    paths: list[str] = []
    seen: set[str] = set()
    for argument in arguments:
        if os.path.isdir(argument):
            found = sorted(str(p) for p in Path(argument).rglob("*.ipynb")
                           if ".ipynb_checkpoints" not in p.parts and p.is_file())
            if not found:
                raise BatchError(f"no .ipynb file below the folder {submission_name(argument)}")
        else:
            found = [argument]
        for path in found:
            if (name := submission_name(path)) not in seen:  # the same notebook named twice is graded once
                seen.add(name)
                paths.append(path)
    return paths


def parse_shard(text: str) -> tuple[int, int]:
    """'I/N' as (I, N), with 0 <= I < N."""
    index, _, count = text.partition("/")
    if not (index.strip().isdigit() and count.strip().isdigit()) or not 0 <= int(index) < int(count):
        raise BatchError(f"--shard expects I/N with 0 <= I < N (e.g. 0/4 .. 3/4), but got {text!r}")
    return int(index), int(count)


class Batch:
    """The submissions one `toynet grade` run grades into `out` (a folder, or one results.json when one_file)."""

    def __init__(self, paths: Sequence[str], bundle_dir: Path, out: Path, one_file: bool = False,
                 shard: tuple[int, int] | None = None, regrade: bool = False) -> None:
        try:
            self.assignment = file_digest(bundle_dir / BUNDLE_FILE)
        except OSError as error:
            raise BatchError(f"--assignment {bundle_dir}: no readable {BUNDLE_FILE} ({error.strerror})") from None
        self.bundle_dir, self.out, self.shard = bundle_dir, out, shard
        self.folder = None if one_file else ResultFolder.open(out, self.assignment)
        named = [(str(p), submission_name(p)) for p in paths]
        self.given = [(p, n) for p, n in named if shard is None or shard_of(n, shard[1]) == shard[0]]
        self.todo = [(p, n) for p, n in self.given if regrade or not self._current(p, n)]
        self.rows = 0
        self._csv_written = time.monotonic()

    def _current(self, path: str, name: str) -> bool:
        """Its results are in `out`, for these bytes and this bundle."""
        try:
            digest = file_digest(path)
        except OSError:
            return False
        if self.folder is not None:
            return self.folder.is_current(name, digest)
        record = read_record(self.out) if self.out.is_file() else None
        return record is not None and record.name == name and record.about.get("sha256") == digest \
            and record.about.get("assignment") == self.assignment

    def plan(self) -> str:
        """One line: how many submissions this run grades, and why the others are not."""
        part = f" of shard {self.shard[0]}/{self.shard[1]}" if self.shard else ""
        done = len(self.given) - len(self.todo)
        kept = f" ({done} already graded and unchanged: --regrade grades them again)" if done else ""
        return f"grading {len(self.todo)} of the {len(self.given)} submissions{part}{kept}"

    def run(self, jobs: int = 1, progress: bool = True) -> list[SubmissionResult]:
        """Grade `todo`, saving each result the moment it is graded; class.csv last (and every CSV_EVERY s)."""
        if self.folder is not None and self.shard is not None:
            self.folder.write_shard(*self.shard, [name for _, name in self.given])
        protect = [self.out if self.folder is not None else self.out.parent]
        results = grade_many([p for p, _ in self.todo], self.bundle_dir, jobs=jobs, progress=progress,
                             protect=protect, names=[n for _, n in self.todo], on_result=self._save)
        if self.folder is not None:
            self.folder.write_csv()
            self.rows = len(self.folder.records)
        return results

    def _save(self, result: SubmissionResult) -> None:
        if self.folder is None:
            write_results([result], self.out, self.assignment)
            return
        self.folder.save(result.submission, result.gradescope(), result.sha256)
        if time.monotonic() - self._csv_written > CSV_EVERY:
            self.folder.write_csv()
            self._csv_written = time.monotonic()


@dataclass
class MergeReport:
    """What a merge found: results joined, and what the shards' own lists say is missing."""

    out: Path
    results: int = 0
    replaced: int = 0  # results of a submission found in more than one folder: the newest kept
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        head = f"merged: {self.results} submissions in {self.out / 'class.csv'}"
        if self.replaced:
            head += f" ({self.replaced} found twice: the most recently graded kept)"
        return "\n".join([head, *(f"INCOMPLETE: {problem}" for problem in self.problems)])


def merge(sources: Sequence[Path], out: Path) -> MergeReport:
    """Copy every results file of `sources` into `out` (newest wins), write class.csv, check the shard lists."""
    target = ResultFolder.open(out, "")
    report = MergeReport(target.folder)
    shards: dict[tuple[int, int], dict[str, Any]] = {}
    for source in sources:
        if not source.is_dir():
            raise BatchError(f"{source} is not a folder")
        for record in read_folder(source).values():
            report.replaced += _take(target, record)
        for key, data in _read_shards(source).items():
            shards[key] = data
            outputs.write_text(target.folder / f"shard-{key[0]}-of-{key[1]}.json", json.dumps(data, indent=1))
    report.problems = _check_shards(shards, target.records)
    target.write_csv()
    report.results = len(target.records)
    outputs.write_text(target.folder / REPORT_NAME, report.describe() + "\n")
    return report


def _take(target: ResultFolder, record: Record) -> int:
    """Put `record` in `target` unless it holds a newer one; 1 when the submission was already there."""
    key = result_file(record.name)
    held = target.records.get(key)
    if held is not None and str(held.about.get("graded_at")) >= str(record.about.get("graded_at")):
        return int(held.path.resolve() != record.path.resolve())
    path = outputs.write_text(target.folder / key, json.dumps(record.data, indent=1))
    target.records[key] = Record(path, record.data)
    return int(held is not None)


def _read_shards(folder: Path) -> dict[tuple[int, int], dict[str, Any]]:
    found = {}
    for path in folder.glob("shard-*-of-*.json"):
        try:
            if path.stat().st_size > 4 * MAX_RESULT_BYTES:
                continue
            data = json.loads(path.read_bytes())
            key = (int(data["shard"]), int(data["shards"]))
            if isinstance(data.get("submissions"), list):
                found[key] = data
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found


def _check_shards(shards: dict[tuple[int, int], dict[str, Any]], records: dict[str, Record]) -> list[str]:
    """Problems: shards never started, submissions a shard was given without a (current) result."""
    problems = []
    counts = sorted({count for _, count in shards})
    if len(counts) > 1:
        problems.append(f"shards of different counts were merged: {', '.join(f'of {c}' for c in counts)}")
    for count in counts:
        absent = [str(i) for i in range(count) if (i, count) not in shards]
        if absent:
            problems.append(f"shard(s) {', '.join(absent)} of {count}: no shard-I-of-{count}.json in any folder "
                            "(never started, or its folder was not given)")
    missing, stale = [], []
    for data in shards.values():
        for name in map(str, data["submissions"]):
            record = records.get(result_file(name))
            if record is None or record.name != name:
                missing.append(name)
            elif record.about.get("assignment") != data.get("assignment"):
                stale.append(name)
    if missing:
        problems.append(f"{len(missing)} submission(s) given to a shard have no result: {_some(missing)}")
    if stale:
        problems.append(f"{len(stale)} result(s) were graded with another assignment bundle: {_some(stale)}")
    return problems


def _some(names: list[str]) -> str:
    shown = ", ".join(n if n.isprintable() else display(n) for n in sorted(names)[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")
