"""prepare at the final round's scale: bounded memory, streamed arrays, a bounded work queue."""

from __future__ import annotations

import io
import os
import tracemalloc
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ablate.data.prepare as prepare_module
from ablate.data import open_cache, parse_visit_files, prepare_cache, write_synthetic
from ablate.data._calendar import VISIT_SHAPE
from ablate.data._layout import discover
from ablate.data._stack import kept_rows, save_stacked
from ablate.data.visits import COUNT_DTYPE

# Growth allowed per extra region: its record, keep flag, label, id and split index, with room.
BYTES_PER_REGION = 64


@pytest.fixture(scope="module")
def raw_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("base") / "urfc"
    write_synthetic(raw, n=90, seed=4, n_test=10)
    return raw


def _replicated(base: Path, out: Path, copies: int) -> Path:
    """``copies`` × the regions of ``base`` under new ids (hard links: no data is written)."""
    for file in (p for p in base.rglob("*") if p.is_file()):
        stem, suffix = file.name.split(".")
        head, _, tail = stem.partition("_")
        (out / file.parent.relative_to(base)).mkdir(parents=True, exist_ok=True)
        for k in range(copies):
            name = f"{int(head) + 1000 * k:06d}{'_' + tail if tail else ''}.{suffix}"
            os.link(file, out / file.parent.relative_to(base) / name)
    return out


def _peak_bytes(raw: Path, out: Path) -> int:
    tracemalloc.start()
    try:
        prepare_cache(raw, out, chunk_size=50)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_does_not_grow_with_the_regions(raw_base: Path, tmp_path: Path) -> None:
    small = _replicated(raw_base, tmp_path / "small", 3)
    large = _replicated(raw_base, tmp_path / "large", 12)
    peak_small = _peak_bytes(small, tmp_path / "cache_small")
    peak_large = _peak_bytes(large, tmp_path / "cache_large")
    extra_regions = 900  # 1,200 regions against 300
    assert len(open_cache(tmp_path / "cache_large").ids) == extra_regions + 300
    assert peak_large - peak_small < extra_regions * BYTES_PER_REGION, (peak_small, peak_large)


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_arrays_are_the_bytes_np_save_writes(raw_small: Path, cache_small: Path) -> None:
    """The streamed writes give the file that saving the whole array at once gives."""
    samples, _ = discover(raw_small)
    rows = samples.samples(0, len(samples))
    images = np.stack([np.asarray(Image.open(raw_small / s.image)) for s in rows])
    visits = parse_visit_files([raw_small / s.visit for s in rows]).counts
    visits = visits.astype(COUNT_DTYPE).reshape(len(rows), *VISIT_SHAPE)
    assert (cache_small / "images.npy").read_bytes() == _npy_bytes(images)
    assert (cache_small / "visits.npy").read_bytes() == _npy_bytes(visits)
    assert (cache_small / "ids.npy").read_bytes() == _npy_bytes(np.array([s.id for s in rows]))


def test_kept_rows_stream_a_chunk_member_in_pieces(tmp_path: Path) -> None:
    values = np.arange(7 * 3 * 2, dtype=np.uint16).reshape(7, 3, 2)
    np.savez(tmp_path / "chunk.npz", values=values)
    keep = np.array([1, 0, 1, 1, 0, 0, 1], dtype=bool)
    parts = list(kept_rows(tmp_path / "chunk.npz", "values", keep, rows_per_read=3))
    assert [len(p) for p in parts] == [2, 1, 1]
    save_stacked(tmp_path / "stacked.npy", iter(parts), (4, 3, 2), np.uint16)
    assert (tmp_path / "stacked.npy").read_bytes() == _npy_bytes(values[keep])
    with pytest.raises(ValueError, match="wrote 4 rows, expected 5"):
        save_stacked(tmp_path / "short.npy", iter(parts), (5, 3, 2), np.uint16)
    assert not (tmp_path / "short.npy").exists()


class _InlinePool:
    """Runs each submitted job at once; records how many were submitted."""

    submitted = 0

    def __init__(self, **_: object) -> None:
        pass

    def __enter__(self) -> _InlinePool:
        return self

    def __exit__(self, *_: object) -> None:
        pass

    def submit(self, fn, job) -> Future:
        type(self).submitted += 1
        future: Future = Future()
        future.set_result(fn(job))
        return future

    def map(self, fn, jobs):
        futures = [self.submit(fn, job) for job in jobs]
        return (future.result() for future in futures)


def test_workers_are_handed_a_few_chunks_at_a_time(raw_small, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(prepare_module, "ProcessPoolExecutor", _InlinePool)
    ahead = []  # jobs submitted beyond those reported finished, at each report
    reported = []

    def progress(done: int, total: int) -> None:
        reported.append(done)
        ahead.append(_InlinePool.submitted - (len(reported) - 1))

    prepare_cache(raw_small, tmp_path / "cache", workers=2, chunk_size=8, progress=progress)
    assert reported == [0, *range(8, 96, 8), 96]  # 12 chunks, reported in order
    assert max(ahead) == 2 * 2  # QUEUED_PER_WORKER chunks per worker (pool.map: all 11)


def test_discover_rebuilds_every_name_from_its_record(raw_copy: Path) -> None:
    image = (raw_copy / "train_image/train/001/000000_001.jpg").read_bytes()
    visit = (raw_copy / "train_visit/000000_001.txt").read_bytes()
    for stem in ("5_001", "00005_001", "٣_001"):  # one id in two widths; Arabic-Indic digits
        (raw_copy / f"train_image/train/001/{stem}.jpg").write_bytes(image)
        (raw_copy / f"train_visit/{stem}.txt").write_bytes(visit)
    samples, problems = discover(raw_copy)
    rows = samples.samples(0, len(samples))
    assert [(s.id, s.image) for s in rows[:2]] == [
        (5, "train_image/train/001/5_001.jpg"),
        (5, "train_image/train/001/00005_001.jpg"),
    ]
    assert rows[2].visit == "train_visit/000000_001.txt"
    assert rows[-1].image == "test_image/test/000005.jpg" and rows[-1].label == -1
    assert [str(p) for p in problems] == [
        "train_image/train/001/٣_001.jpg: unexpected file name",
        "train_visit/٣_001.txt: has no image with id ٣_001",
    ]
