"""Where grades are written: folders made before any student code runs, files replaced without following links.

The grader often runs as root while student code runs beside it; a student who can plant a symbolic link where
the grader is about to write would have root write through it. So output folders are created (and checked:
no other user may write to them) before grading starts, and each file is written to a fresh temporary name in
its folder and renamed over the final name: rename replaces a planted link, it never writes through it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


class UnsafeOutput(ValueError):
    """An output path the grader refuses to write to (a folder other users may change)."""


def prepare_folder(folder: str | os.PathLike[str]) -> Path:
    """Create `folder` (and missing parents, mode 0700) and check no other user can swap anything in its path.

    Every folder on the way must be writable only by its owner, or sticky (like /tmp: others cannot rename or
    delete what they do not own). Returns the resolved folder.
    """
    folder = Path(folder).absolute()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    resolved = folder.resolve(strict=True)
    for part in [resolved, *resolved.parents]:
        info = part.stat()
        if not stat.S_ISDIR(info.st_mode):
            raise UnsafeOutput(f"output folder {folder}: {part} is not a folder")
        shared = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        if shared and not info.st_mode & stat.S_ISVTX:
            raise UnsafeOutput(
                f"output folder {folder}: {part} may be changed by other users (mode {stat.filemode(info.st_mode)}); "
                "choose a folder only you can write to"
            )
        if part == resolved and info.st_uid not in (os.geteuid(), 0):
            raise UnsafeOutput(f"output folder {folder} belongs to another user (uid {info.st_uid})")
    return resolved


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` to `path` atomically, mode 0600 (temporary file in the same folder, then rename)."""
    return write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `path` atomically, mode 0600 (temporary file in the same folder, then rename)."""
    path = Path(path)
    folder = prepare_folder(path.parent)
    target = folder / path.name
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)  # O_EXCL: never an existing file
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    return target
