"""``ensure_dataset``: the one call a trial makes to get a cache for its ``data:`` section."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from ablate.data.cache import CACHE_VERSION, COMPLETE, check_cache
from ablate.data.prepare import prepare_cache
from ablate.data.synthetic import write_synthetic
from ablate.data.visits import PARSER_VERSION
from ablate.spec import DataSpec

SYNTH_VERSION = 1  # bump when the generator's output changes, so old caches are not reused


def synthetic_key(data: DataSpec) -> str:
    """Names the synthetic dataset: everything that changes its cache."""
    fields = {
        "n": data.n,
        "synth_seed": data.synth_seed,
        "val_fraction": data.val_fraction,
        "test_fraction": data.test_fraction,
        "split_seed": data.split_seed,
        "parser": PARSER_VERSION,
        "cache": CACHE_VERSION,
        "synth": SYNTH_VERSION,
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def ensure_dataset(
    data: DataSpec, *, root: Path, progress: Callable[[int, int], None] | None = None
) -> Path:
    """The path of a complete cache for ``data``, preparing synthetic data once under ``root``.

    Safe when several processes call it at once: they serialise on a lock file.
    """
    if data.source == "cache":
        check_cache(Path(data.path))
        return Path(data.path)
    home = Path(root) / "synthetic" / synthetic_key(data)
    cache = home / "cache"
    if (cache / COMPLETE).is_file():
        return cache
    home.mkdir(parents=True, exist_ok=True)
    with open(home.parent / f"{home.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (cache / COMPLETE).is_file():
                _build(home, data, progress)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return cache


def _build(home: Path, data: DataSpec, progress) -> None:
    raw = home / "raw"
    if not raw.is_dir():
        staging = home / "raw.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        write_synthetic(staging, n=data.n, seed=data.synth_seed)
        os.replace(staging, raw)  # the raw folder appears whole or not at all
    prepare_cache(
        raw,
        home / "cache",
        val_fraction=data.val_fraction,
        test_fraction=data.test_fraction,
        split_seed=data.split_seed,
        progress=progress,
    )
