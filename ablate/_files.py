"""Small file and process helpers: atomic writes, fsync, live pids.

Stdlib only, below every layer: the data cache and the training checkpoints both use it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(
    path: Path, write: Callable[[BinaryIO], object], *, tmp: Path | None = None
) -> None:
    """Write via a temporary file (``tmp``, default ``<name>.tmp`` beside ``path``), fsync it,
    rename it over ``path`` and fsync the folder, so that the rename itself survives."""
    tmp = tmp or path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make the folder's entries (a new name, a rename, a removal) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (one we may not signal counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
