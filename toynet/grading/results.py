"""A class's results on disk: one file per submission, written the moment it is graded; class.csv built from them.

    OUT/
      <name>-<digest>.json   one per submission: Gradescope's results.json, with extra_data.toynet =
                             {"submission": its name, "sha256": the notebook's bytes, "assignment": the bundle's
                             sha256, "graded_at": UTC time}; written atomically (outputs.write_text)
      class.csv              one row per results file in OUT (so a regrade of two students keeps every other row)
      shard-I-of-N.json      the submissions shard I of N was given (`merge` checks each has its result)

A submission's name is its path as given, relative to the current folder when it lies below it (so every
shard and every rerun, run from the same folder, names it the same), with anything that is not printable text
escaped (`display`): bytes that are not UTF-8 become \\xNN, control characters and terminal escapes \\uNNNN,
a backslash \\\\, so two files never share a name and no name can drive a terminal or a spreadsheet. Its
results file is named from the name plus a digest of it: two names never share a file.

A results file is current when the notebook's bytes and the bundle are those it records: `toynet grade` run
again grades only what is missing or changed (`--regrade` grades everything again).
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from toynet.grading import outputs

CSV_NAME = "class.csv"
MAX_RESULT_BYTES = 4 << 20  # a results file the grader wrote is far smaller; a larger one is not read
_SHARD_FILE = re.compile(r"shard-(\d+)-of-(\d+)\.json")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def display(name: str) -> str:
    """`name` as safe, printable text; different names stay different (the escapes are reversible).

    Bytes that are not UTF-8 (os.fsdecode keeps them as lone surrogates) become \\xNN; anything that is not
    printable (controls, terminal escapes, bidirectional overrides, line separators) \\n, \\r, \\t or \\uNNNN;
    a backslash is doubled so that no escape can be forged.
    """
    shown = []
    for character in name:
        code = ord(character)
        if 0xDC80 <= code <= 0xDCFF:  # surrogateescape's stand-in for the byte code - 0xDC00
            shown.append(f"\\x{code - 0xDC00:02x}")
        elif character in _ESCAPES:
            shown.append(_ESCAPES[character])
        elif not character.isprintable():
            shown.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            shown.append(character)
    return "".join(shown)


def submission_name(path: str | os.PathLike[str]) -> str:
    """The submission's name: its path relative to the current folder (absolute outside it), `display`ed."""
    absolute = os.path.abspath(os.fspath(path))
    relative = os.path.relpath(absolute)
    chosen = absolute if relative == os.pardir or relative.startswith(os.pardir + os.sep) else relative
    return display(chosen)


def result_file(name: str) -> str:
    """The results file of submission `name`: readable, at most ~100 bytes, and one per name (its digest)."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    readable = _SAFE.sub("_", name.removesuffix(".ipynb")).strip("._")[-80:] or "submission"
    return f"{readable}-{digest}.json"


def shard_of(name: str, shards: int) -> int:
    """Which of `shards` shards grades `name`: from the name alone, so neither list order nor other names move it."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % shards


def file_digest(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes, read in chunks; OSError for anything but a regular file (a FIFO would block)."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Record:
    """One results file as stored: Gradescope's results plus what toynet keeps about it (extra_data.toynet)."""

    path: Path
    data: dict[str, Any]

    @property
    def about(self) -> dict[str, Any]:
        return self.data["extra_data"]["toynet"]

    @property
    def name(self) -> str:
        return str(self.about["submission"])


def stamped(results: dict[str, Any], name: str, sha256: str, assignment: str) -> dict[str, Any]:
    """Gradescope results with toynet's record of what was graded (extra_data is Gradescope's own field)."""
    when = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    about = {"submission": name, "sha256": sha256, "assignment": assignment, "graded_at": when}
    return {**results, "extra_data": {**results.get("extra_data", {}), "toynet": about}}


def read_record(path: Path) -> Record | None:
    """A results file written by toynet, or None (too large, not JSON, or without toynet's record)."""
    try:
        if path.stat().st_size > MAX_RESULT_BYTES:
            return None
        data = json.loads(path.read_bytes())
        about = data["extra_data"]["toynet"]
        if not (isinstance(about, dict) and isinstance(about.get("submission"), str)
                and isinstance(data.get("tests"), list)):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Record(path, data)


def read_folder(folder: Path) -> dict[str, Record]:
    """Every results file in `folder` (by file name); files being written (.name.XXXX) are not results yet."""
    found = {}
    for path in sorted(folder.glob("*.json")):
        if not path.name.startswith(".") and not _SHARD_FILE.fullmatch(path.name):
            record = read_record(path)
            if record is not None:
                found[path.name] = record
    return found


@dataclass
class ResultFolder:
    """The results of one class (or one shard) in `folder`, for bundle `assignment` (its sha256)."""

    folder: Path
    assignment: str
    records: dict[str, Record] = field(default_factory=dict)

    @classmethod
    def open(cls, folder: str | os.PathLike[str], assignment: str) -> ResultFolder:
        resolved = outputs.prepare_folder(folder)
        return cls(resolved, assignment, read_folder(resolved))

    def is_current(self, name: str, sha256: str) -> bool:
        """True when `name`'s results are of these very bytes, graded with this bundle."""
        record = self.records.get(result_file(name))
        return record is not None and record.name == name and record.about.get("sha256") == sha256 \
            and record.about.get("assignment") == self.assignment

    def save(self, name: str, results: dict[str, Any], sha256: str) -> Path:
        """Write one submission's results now (atomically): a grader killed later cannot lose them."""
        data = stamped(results, name, sha256, self.assignment)
        path = outputs.write_text(self.folder / result_file(name), json.dumps(data, indent=1))
        self.records[path.name] = Record(path, data)
        return path

    def write_shard(self, index: int, count: int, names: Sequence[str]) -> Path:
        """Which submissions this shard was given, so that a merge can tell a shard that did not finish."""
        data = {"shard": index, "shards": count, "assignment": self.assignment, "submissions": sorted(names)}
        return outputs.write_text(self.folder / f"shard-{index}-of-{count}.json", json.dumps(data, indent=1))

    def write_csv(self) -> Path:
        """class.csv from every results file in the folder, rows sorted by name."""
        return write_csv(self.records.values(), self.folder / CSV_NAME)


def write_csv(records: Iterable[Record], path: Path) -> Path:
    """The class table: one row per submission, one column per autograded question, then total and maximum (the
    autograder's); then one empty column per cell graded by hand, headed with its points, for the instructor."""
    rows = sorted(records, key=lambda record: record.name)
    questions: list[str] = []
    by_hand: dict[str, float] = {}
    for record in rows:
        questions += [str(t.get("name")) for t in record.data["tests"]
                      if "score" in t and str(t.get("name")) not in questions]
        by_hand.update(record.data.get("extra_data", {}).get("graded_by_hand", {}))
    hand = [f"{name} (by hand, /{float(points):g})" for name, points in by_hand.items()]
    table = io.StringIO(newline="")
    writer = csv.writer(table)
    writer.writerow(["submission", *map(as_text, questions), "total", "max", *map(as_text, hand)])
    for record in rows:
        scores = {str(t.get("name")): t for t in record.data["tests"] if "score" in t}
        maximum = sum(float(t.get("max_score", 0)) for t in scores.values())
        writer.writerow([as_text(record.name), *(_score(scores.get(q)) for q in questions),
                         f"{float(record.data.get('score', 0)):g}", f"{maximum:g}", *([""] * len(hand))])
    return outputs.write_text(path, table.getvalue())


def _score(test: dict[str, Any] | None) -> str:
    return "" if test is None else f"{float(test.get('score', 0)):g}"


def as_text(cell: str) -> str:
    """A student-chosen name as a spreadsheet's text, never its formula (a leading = + - @ makes one)."""
    return "'" + cell if cell.startswith(("=", "+", "-", "@", "\t", "\r")) else cell
