"""Read a submitted notebook in the grader with every size bounded: nothing a student wrote is parsed whole.

A notebook is JSON, and its saved outputs (plots, printed text) and attachments can be far larger than its
code: the grader needs none of them. The file is streamed (ijson, one JSON event at a time) and each cell's
`outputs` and `attachments` are skipped as they go by, so a notebook with 17 MB of plots is graded like its
code alone. What is kept is bounded before it is built: its characters (the grading limit), its number of
values and cells, its depth. The file itself may take at most MAX_FILE_BYTES, and its events MAX_EVENTS (the
time a parse takes): a value the grader skips still costs an event.

    notebook = read_bounded("alice.ipynb")   # an nbformat v4 NotebookNode, outputs emptied

Worst cases, measured by tests/test_grading_bounds.py (the grader's own peak RSS, under 300 MB): a file of one
60 MB output string, millions of tiny values, deep nesting, one huge cell, long lines.
"""

from __future__ import annotations

import codecs
import json
import os
import stat
from typing import Any, BinaryIO

MAX_FILE_BYTES = 64 << 20  # a notebook file larger than this is refused unread
MAX_NOTEBOOK_BYTES = 16 << 20  # characters kept once outputs are dropped: what "the notebook's size" means
MAX_EVENTS = 2_000_000  # JSON events streamed, skipped ones included (about 3 s of parsing)
READ_BYTES = 1 << 20  # also bounds the events ijson buffers from one read (~40 MB of tiny values)
MAX_VALUES = 100_000  # JSON values kept (nbformat takes ~700 bytes a value: 70 MB at most)
MAX_CELLS = 10_000
MAX_DEPTH = 64
DROPPED = {"outputs": list, "attachments": dict}  # a cell's keys the grader never needs: emptied, not parsed


class NotebookTooLarge(ValueError):
    """A notebook past one of the reader's bounds; the message says which, and the limit."""


def read_bounded(path: str | os.PathLike[str]) -> Any:
    """The notebook at `path` as an nbformat v4 NotebookNode, with every cell's outputs and attachments empty.

    Raises NotebookTooLarge past a bound, ValueError when the file is not JSON.
    """
    import nbformat

    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):  # a FIFO would block the grader, /dev/zero never end
        raise NotebookTooLarge("the submission is not a regular file")
    size = info.st_size
    if size > MAX_FILE_BYTES:
        raise NotebookTooLarge(f"the notebook file takes {size >> 20} MB; at most {MAX_FILE_BYTES >> 20} MB are read")
    with open(path, "rb") as handle:
        data = _stripped(_Utf8(handle))
    # What is left is small and counted: nbformat converts (v3 -> v4) and checks it as it would any notebook.
    return nbformat.reads(json.dumps(data), as_version=4)


class _Utf8:
    """A binary file whose bytes that are not UTF-8 become U+FFFD (as a text editor shows them), read in chunks."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle, self.decoder = handle, codecs.getincrementaldecoder("utf-8")(errors="replace")

    def read(self, size: int = READ_BYTES) -> bytes:
        chunk = self.handle.read(size)
        return self.decoder.decode(chunk, final=not chunk).encode()


def _stripped(stream: _Utf8) -> Any:
    """Build the notebook from JSON events, skipping DROPPED values of cells and counting what is kept."""
    import ijson

    builder = _Builder()
    # yajl lexes a string split across reads again from its start at each read: big reads keep a 60 MB plot
    # string under 3 s (64 kB reads took 30 s)
    parse = ijson.basic_parse(stream, use_float=True, buf_size=READ_BYTES)
    for events, (event, value) in enumerate(parse, start=1):
        if events > MAX_EVENTS:
            raise NotebookTooLarge(f"the notebook holds more than {MAX_EVENTS} JSON values; this many are not graded")
        builder.event(event, value)
    return builder.root


class _Builder:
    """Containers built from ijson's basic events; the path of keys says where a DROPPED value starts."""

    def __init__(self) -> None:
        self.root: Any = None
        self.stack: list[Any] = []  # open containers
        self.keys: list[Any] = []  # for each open container: the key (dict) or index (list) being filled
        self.drop_next = False  # the next value is a DROPPED one
        self.skipping = 0  # depth inside a dropped container (0: keeping)
        self.values = self.characters = self.cells = 0

    def event(self, event: str, value: Any) -> None:
        if self.drop_next:
            self.drop_next, self.skipping = False, int(event in ("start_map", "start_array"))
            return
        if self.skipping:
            self.skipping += {"start_map": 1, "start_array": 1, "end_map": -1, "end_array": -1}.get(event, 0)
            return
        if event == "map_key":
            self._count(value)
            self.keys[-1] = value
            if len(self.stack) == 3 and value in DROPPED and self._in_cell():
                self.stack[-1][value] = DROPPED[value]()
                self.drop_next = True
            return
        if event in ("end_map", "end_array"):
            self.stack.pop()
            self.keys.pop()
            return
        if event in ("start_map", "start_array"):
            container: Any = {} if event == "start_map" else []
            self._place(container)
            if len(self.stack) >= MAX_DEPTH:
                raise NotebookTooLarge(f"the notebook nests values deeper than {MAX_DEPTH} levels")
            self.stack.append(container)
            self.keys.append(None)
            return
        self._place(value)
        if isinstance(value, str):
            self._count(value)

    def _in_cell(self) -> bool:
        return isinstance(self.stack[0], dict) and self.keys[0] == "cells" and isinstance(self.stack[1], list)

    def _place(self, value: Any) -> None:
        self.values += 1
        if self.values > MAX_VALUES:
            raise NotebookTooLarge(f"the notebook holds more than {MAX_VALUES} values besides its outputs")
        if not self.stack:
            self.root = value
        elif isinstance(self.stack[-1], list):
            self.stack[-1].append(value)
            if len(self.stack) == 2 and self._in_cell():
                self.cells += 1
                if self.cells > MAX_CELLS:
                    raise NotebookTooLarge(f"the notebook has more than {MAX_CELLS} cells")
        else:
            self.stack[-1][self.keys[-1]] = value

    def _count(self, text: str) -> None:
        self.characters += len(text)
        if self.characters > MAX_NOTEBOOK_BYTES:
            raise NotebookTooLarge(f"the notebook takes more than {MAX_NOTEBOOK_BYTES >> 20} MB without its outputs; "
                                   f"at most {MAX_NOTEBOOK_BYTES >> 20} MB are graded")
