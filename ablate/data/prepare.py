"""``prepare``: raw URFC folder -> memory-mappable cache, resumable and crash-safe.

Samples are processed in chunks; each chunk is written atomically into ``<out>/_partial/``, so
a prepare killed at any moment continues from its finished chunks when run again. The arrays
are then assembled (each through a temporary file and a rename), and the ``COMPLETE`` marker is
written last: a cache without it is never opened. The output depends only on the raw files and
the settings, so an interrupted and resumed prepare gives byte-identical arrays.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import shutil
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ablate._files import fsync_dir, write_atomic
from ablate.data._calendar import VISIT_SHAPE
from ablate.data._chunk import ChunkJob, run_chunk
from ablate.data._layout import URFC_CLASSES, SampleTable, discover
from ablate.data._split import stratified_split
from ablate.data._stack import kept_rows, save_stacked
from ablate.data.cache import CACHE_VERSION, COMPLETE, MANIFEST, is_cache_file, split_file
from ablate.data.visits import COUNT_DTYPE, PARSER_VERSION
from ablate.errors import DataError

Manifest = dict[str, Any]
Progress = Callable[[int, int], None]
PARTIAL = "_partial"
CHUNK_SIZE = 2000
PLAN_BLOCK = 10_000  # samples whose paths are made at once while the plan key is computed
QUEUED_PER_WORKER = 2  # chunks handed to the pool and not yet collected, per worker


def prepare_cache(
    raw_dir: Path,
    out_dir: Path,
    *,
    workers: int = 1,
    strict: bool = False,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    split_seed: int = 0,
    filter_dark: float | None = None,
    filter_bright: float | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
) -> Manifest:
    """Build, finish or confirm the cache of ``raw_dir`` in ``out_dir``; return its manifest."""
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    samples, problems = discover(raw_dir)
    if strict and problems:
        raise _strict_error(problems[0], raw_dir)
    settings = {
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
        "split_seed": split_seed,
        "filter_dark": filter_dark,
        "filter_bright": filter_bright,
    }
    plan_key = _plan_key(raw_dir, samples, settings, chunk_size)
    if (out_dir / COMPLETE).is_file() and (out_dir / COMPLETE).read_text().strip() == plan_key:
        if progress:
            progress(len(samples), len(samples))
        return json.loads((out_dir / MANIFEST).read_text())
    _claim_out_dir(out_dir)
    partial = out_dir / PARTIAL
    if (partial / "plan").is_file() and (partial / "plan").read_text() != plan_key:
        shutil.rmtree(partial)
    partial.mkdir(parents=True, exist_ok=True)
    if not (partial / "plan").is_file():
        write_atomic(partial / "plan", lambda handle: handle.write(plan_key.encode()))
    starts = range(0, len(samples), chunk_size)
    targets = [partial / f"chunk_{k:06d}.npz" for k in range(len(starts))]
    todo = [(s, t) for s, t in zip(starts, targets, strict=True) if not t.is_file()]
    jobs = (  # made one by one as the pool takes them: a job holds its chunk's paths
        ChunkJob(
            str(raw_dir), samples.samples(s, s + chunk_size), str(t), filter_dark, filter_bright
        )
        for s, t in todo
    )
    remaining = sum(min(chunk_size, len(samples) - s) for s, _ in todo)
    _run_jobs(
        jobs, len(todo), workers, strict, raw_dir, len(samples) - remaining, len(samples), progress
    )
    if strict:  # chunks finished by an earlier, non-strict run were not checked yet
        for target in targets:
            if first := _chunk_problems(target):
                raise _strict_error(_located(first[0]), raw_dir)
    manifest = _assemble(out_dir, targets, problems, settings, raw_dir, strict)
    write_atomic(out_dir / COMPLETE, lambda handle: handle.write(f"{plan_key}\n".encode()))
    shutil.rmtree(partial)
    return manifest


def _plan_key(raw_dir: Path, samples: SampleTable, settings: dict, chunk_size: int) -> str:
    """Identifies the work: the sample list (paths, sizes), settings and format versions."""
    digest = hashlib.sha256()
    header = {"cache": CACHE_VERSION, "parser": PARSER_VERSION, "chunk": chunk_size, **settings}
    digest.update(json.dumps(header, sort_keys=True).encode())
    for start in range(0, len(samples), PLAN_BLOCK):
        for s in samples.samples(start, start + PLAN_BLOCK):
            sizes = [_size(raw_dir / s.image), _size(raw_dir / s.visit)]
            digest.update(f"{s.id}|{s.label}|{s.image}|{s.visit}|{sizes}\n".encode())
    return digest.hexdigest()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _claim_out_dir(out_dir: Path) -> None:
    """Refuse to write into a folder that holds something other than an ablate cache."""
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"Cache folder {out_dir} is a file; choose a new or empty folder.")
    if out_dir.is_dir():
        others = [
            p.name for p in out_dir.iterdir() if not is_cache_file(p.name) and p.name != PARTIAL
        ]
        if others:
            raise DataError(
                f"Cache folder {out_dir} holds other files ({others[0]}, ...); "
                "choose a new or empty folder for --out."
            )
        (out_dir / COMPLETE).unlink(missing_ok=True)
        fsync_dir(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)


def _strict_error(problem: Any, raw_dir: Path) -> DataError:
    return DataError(
        f"Bad input in {raw_dir}: {problem} (fix or remove that file, or prepare without --strict "
        "to skip such samples and list them in manifest.json)"
    )


def _located(problem: list) -> str:
    file, line, reason = problem
    return f"{file}:{line}: {reason}" if line else f"{file}: {reason}"


def _chunk_problems(target: Path) -> list[list]:
    with np.load(target) as chunk:
        return json.loads(str(chunk["problems"]))


def _run_jobs(
    jobs: Iterator[ChunkJob],
    n_jobs: int,
    workers: int,
    strict: bool,
    raw_dir: Path,
    done: int,
    total: int,
    progress: Progress | None,
) -> None:
    if progress:
        progress(done, total)

    def finished(job: ChunkJob) -> None:
        nonlocal done
        if strict and (first := _chunk_problems(Path(job.target))):
            raise _strict_error(_located(first[0]), raw_dir)
        done += len(job.samples)
        if progress:
            progress(done, total)

    if workers <= 1 or n_jobs <= 1:
        for job in jobs:
            run_chunk(job)
            finished(job)
        return
    # In order, a few chunks ahead: pool.map would make, pickle and queue every job at once.
    queued: deque[tuple[ChunkJob, Future]] = deque()
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:

        def collect() -> None:
            job, future = queued.popleft()
            future.result()
            finished(job)

        try:
            for job in jobs:
                queued.append((job, pool.submit(run_chunk, job)))
                if len(queued) > QUEUED_PER_WORKER * workers:
                    collect()
            while queued:
                collect()
        finally:
            for _, future in queued:
                future.cancel()


def _assemble(out_dir, targets, pair_problems, settings, raw_dir, strict) -> Manifest:
    # Held for every region: its keep flag, label and id (17 bytes); the arrays are streamed.
    keeps, labels, ids, problems, filtered = [], [], [], [], []
    checksum = hashlib.sha256()  # over every sample's digest, in order
    for target in targets:
        with np.load(target) as chunk:
            keep = chunk["keep"]
            keeps.append(keep)
            labels.append(chunk["labels"][keep])
            ids.append(chunk["ids"][keep])
            problems += json.loads(str(chunk["problems"]))
            filtered += json.loads(str(chunk["filtered"]))
            checksum.update(chunk["digests"].tobytes())
    labels_all = np.concatenate(labels) if labels else np.zeros(0, np.int64)
    n = len(labels_all)
    if n == 0:
        raise DataError(f"No usable sample in {raw_dir}: see the problems listed by prepare.")
    _stack(out_dir, "images", targets, keeps, (n, 100, 100, 3), np.uint8)
    _stack(out_dir, "visits", targets, keeps, (n, *VISIT_SHAPE), COUNT_DTYPE)
    _save(out_dir / "labels.npy", labels_all)
    del labels
    _save(out_dir / "ids.npy", np.concatenate(ids))
    del ids
    splits = stratified_split(
        labels_all,
        val_fraction=settings["val_fraction"],
        test_fraction=settings["test_fraction"],
        seed=settings["split_seed"],
    )
    for name, rows in splits.items():
        _save(out_dir / split_file(name), rows)
    manifest = {
        "format": "ablate-urfc-cache",
        "cache_version": CACHE_VERSION,
        "parser_version": PARSER_VERSION,
        "raw_dir": str(raw_dir.resolve()),
        "n_samples": n,
        "n_labelled": int((labels_all >= 0).sum()),
        "n_unlabelled": int((labels_all < 0).sum()),
        "class_names": list(URFC_CLASSES),
        "class_counts": {
            name: int((labels_all == c).sum()) for c, name in enumerate(URFC_CLASSES)
        },
        "split_counts": {name: len(rows) for name, rows in splits.items()},
        "settings": settings,
        "source_files": 2 * sum(len(k) for k in keeps),
        "source_checksum": checksum.hexdigest(),
        "problems": [_problem(p) for p in pair_problems] + [_problem(p) for p in problems],
        "filtered": [_problem(p) for p in filtered],
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    write_atomic(out_dir / MANIFEST, lambda handle: handle.write(text.encode()))
    return manifest


def _problem(p: Any) -> dict:
    if isinstance(p, list):
        return {"file": p[0], "line": p[1], "reason": p[2]}
    return {"file": p.file, "line": p.line, "reason": p.reason}


def _save(path: Path, array: np.ndarray) -> None:
    write_atomic(path, lambda handle: np.save(handle, array))


def _stack(out_dir, name, targets, keeps, shape, dtype) -> None:
    """Stack one array from every chunk into ``<name>.npy``, a few rows in memory at a time."""
    parts = (
        rows
        for target, keep in zip(targets, keeps, strict=True)
        for rows in kept_rows(target, name, keep)
    )
    save_stacked(out_dir / f"{name}.npy", parts, shape, dtype)
