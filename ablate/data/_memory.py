"""How much memory a cache's rows take once a trial holds them: the data half of a trial's need.

Counted from the manifest alone (no array is opened), so the scheduler can size trials before
any worker starts. A resident trial holds its train (after ``train_limit``), val and test rows
on its device: uint8 images, visit counts in at most 16 bits, int64 labels. Streaming holds only
a few batches of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ablate.data._calendar import VISIT_SHAPE
from ablate.data.visits import COUNT_DTYPE
from ablate.errors import DataError
from ablate.spec import DataSpec

IMAGE_SHAPE = (100, 100, 3)
TRAINING_SPLITS = ("train", "val", "test")
ROW_BYTES = (
    int(np.prod(IMAGE_SHAPE))  # uint8 pixels
    + int(np.prod(VISIT_SHAPE)) * np.dtype(COUNT_DTYPE).itemsize  # counts, ≤ 16 bits resident
    + np.dtype(np.int64).itemsize  # label
)


def training_rows(manifest: Mapping[str, Any], train_limit: int | None = None) -> dict[str, int]:
    """Rows of each split a trial trains and evaluates on (``train_limit`` applied)."""
    counts = manifest.get("split_counts", {})
    rows = {name: int(counts.get(name, 0)) for name in TRAINING_SPLITS}
    if train_limit is not None:
        rows["train"] = min(rows["train"], train_limit)
    return rows


def residency_bytes(manifest: Mapping[str, Any], train_limit: int | None = None) -> int:
    """Bytes of a trial's rows resident on its device (an upper bound: visits counted at 16
    bits, where the loader may hold them in 8)."""
    return sum(training_rows(manifest, train_limit).values()) * ROW_BYTES


def disk_bytes(path: Path) -> int:
    """Bytes the cache folder takes on disk (its files, not following links)."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


# A streaming trial holds a ring of batches: the one the loop uses, the prefetch queue's
# and the one being gathered from the memory map (ablate.data._stream: PREFETCH + 2).
STREAM_BATCHES = 4


@dataclass(frozen=True)
class DataMemory:
    """The memory a trial needs for its data: resident (every row it uses) or streaming."""

    rows: dict[str, int]  # per split, ``train_limit`` applied
    resident: dict[str, int]  # bytes per split
    batch_rows: int  # the largest batch the trial cuts (training or evaluation)
    streaming: int  # bytes: STREAM_BATCHES of that batch

    @property
    def resident_total(self) -> int:
        return sum(self.resident.values())


def data_memory(
    manifest: Mapping[str, Any],
    *,
    train_limit: int | None = None,
    batch_size: int = 256,
    eval_batch_size: int = 1024,
) -> DataMemory:
    """A trial's data memory both ways, from the manifest."""
    rows = training_rows(manifest, train_limit)
    batch_rows = max(
        min(batch_size, rows["train"]), min(eval_batch_size, max(rows["val"], rows["test"]))
    )
    return DataMemory(
        rows=rows,
        resident={name: count * ROW_BYTES for name, count in rows.items()},
        batch_rows=batch_rows,
        streaming=STREAM_BATCHES * batch_rows * ROW_BYTES,
    )


def planned_manifest(data: DataSpec, *, data_root: Path) -> dict[str, Any] | None:
    """The manifest of the cache a trial of ``data`` reads, before it runs; for synthetic data
    not generated yet, the split counts prepare will give it (the split is stratified per
    class: a few rows off); None for a cache not prepared yet."""
    from ablate.data._ensure import synthetic_key
    from ablate.data.cache import check_cache

    if data.source == "cache" and data.path is not None:
        path = Path(data.path)
    else:
        path = Path(data_root) / "synthetic" / synthetic_key(data) / "cache"
    try:
        return check_cache(path)
    except DataError:
        if data.source == "cache":
            return None
    val, test = round(data.n * data.val_fraction), round(data.n * data.test_fraction)
    return {"split_counts": {"train": data.n - val - test, "val": val, "test": test}}


def planned_rows(data: DataSpec, *, data_root: Path) -> dict[str, int] | None:
    """Rows of each split a trial of ``data`` trains and evaluates on (``planned_manifest``)."""
    manifest = planned_manifest(data, data_root=data_root)
    return None if manifest is None else training_rows(manifest, data.train_limit)
