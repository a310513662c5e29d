"""Opening a prepared cache: memory-mapped arrays, the stored split and the manifest."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ablate.data._split import SPLITS
from ablate.errors import DataError

CACHE_VERSION = 1
ARRAYS = ("images", "visits", "labels", "ids")
MANIFEST = "manifest.json"
COMPLETE = "COMPLETE"


def split_file(name: str) -> str:
    return f"split_{name}.npy"


def is_cache_file(name: str) -> bool:
    """Whether a file name belongs to a cache (or to one being written)."""
    name = name.removesuffix(".tmp")
    known = {f"{a}.npy" for a in ARRAYS} | {split_file(s) for s in SPLITS} | {MANIFEST, COMPLETE}
    return name in known


@dataclass(frozen=True)
class CachedData:
    """A prepared cache: arrays are read-only memory maps, rows aligned across them."""

    path: Path
    images: np.ndarray  # uint8 (N, 100, 100, 3)
    visits: np.ndarray  # uint16 (N, 7, 26, 24)
    labels: np.ndarray  # int64 (N,), class − 1, −1 unlabelled
    ids: np.ndarray  # int64 (N,), the region id of the file names
    splits: dict[str, np.ndarray]  # "train", "val", "test", "unlabelled" -> row indices
    manifest: dict[str, Any] = field(repr=False)

    @property
    def class_names(self) -> tuple[str, ...]:
        """The data's classes in label order (the manifest names them; older caches named
        them only as the keys of their class counts)."""
        names = self.manifest.get("class_names") or list(self.manifest.get("class_counts", {}))
        return tuple(names)


def _fix(path: Path) -> str:
    return f"run 'ablate data prepare RAW --out {path}' to (re)build it"


def check_cache(path: Path) -> dict[str, Any]:
    """The manifest of a complete cache of this version; DataError naming the fix otherwise."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"Cache folder {path} does not exist; {_fix(path)}.")
    if not (path / COMPLETE).is_file() or not (path / MANIFEST).is_file():
        raise DataError(f"Cache folder {path} is not a complete cache; {_fix(path)}.")
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"Cannot read {path / MANIFEST} ({exc}); {_fix(path)}.") from exc
    version = manifest.get("cache_version")
    if version != CACHE_VERSION:
        raise DataError(
            f"Cache folder {path} has format version {version}, this ablate reads "
            f"{CACHE_VERSION}; {_fix(path)}."
        )
    return manifest


def open_cache(path: Path) -> CachedData:
    """Open a complete cache made by ``prepare_cache``."""
    path = Path(path)
    manifest = check_cache(path)
    try:
        arrays = {name: np.load(path / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
        splits = {name: np.load(path / split_file(name)) for name in SPLITS}
    except (OSError, ValueError) as exc:
        raise DataError(f"Cache folder {path} is damaged ({exc}); {_fix(path)}.") from exc
    if len({len(a) for a in arrays.values()}) != 1:
        raise DataError(f"Cache folder {path} has arrays of different lengths; {_fix(path)}.")
    return CachedData(path=path, splits=splits, manifest=manifest, **arrays)
