"""The two data paths: streaming from the memory map gives the resident path's batches, bit for
bit, and its prefetch thread never outlives the pass that started it."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from ablate.data import open_cache
from ablate.data._placement import DataPlacement
from ablate.data._stream import _Tiles
from ablate.data.loader import DeviceData
from ablate.spec import DataSpec

CPU = torch.device("cpu")
SPECS = [
    DataSpec(),
    DataSpec(image_size=48, visit_transform="max"),
    DataSpec(train_limit=30, augment=False, visit_transform="raw"),
]


@pytest.fixture(scope="module")
def cache(cache_small: Path):
    return open_cache(cache_small)


def _load(cache, spec: DataSpec, path: str) -> DeviceData:
    data = DeviceData.load(cache, spec, device=CPU, placement=DataPlacement(path))
    assert data.data_path == path
    return data


def _pass(data: DeviceData, split: str, *, reuse: bool) -> list[tuple[torch.Tensor, ...]]:
    epoch = 3 if split == "train" else None
    batches = data.batches(split, batch_size=7, epoch=epoch, seed=5, reuse_buffers=reuse)
    return [tuple(t.clone() for t in batch) for batch in batches]  # reused: valid until next


def _prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ablate-prefetch"]


@pytest.mark.parametrize("reuse", [False, True])
@pytest.mark.parametrize("spec", SPECS, ids=["default", "size48-max", "limit30-plain-raw"])
def test_stream_and_resident_batches_are_identical(cache, spec: DataSpec, reuse: bool) -> None:
    resident, stream = _load(cache, spec, "resident"), _load(cache, spec, "stream")
    assert np.array_equal(resident.mean, stream.mean) and np.array_equal(resident.std, stream.std)
    for split in ("train", "val", "test"):
        expected, got = _pass(resident, split, reuse=reuse), _pass(stream, split, reuse=reuse)
        assert len(expected) == len(got) > 1, split
        assert stream.num_samples(split) == resident.num_samples(split)
        for a, b in zip(expected, got, strict=True):
            for x, y in zip(a, b, strict=True):
                assert x.dtype == y.dtype and x.shape == y.shape and torch.equal(x, y), split
    if spec.train_limit is not None:
        assert stream.num_samples("train") == spec.train_limit


def test_the_stream_holds_no_copy_of_the_rows(cache) -> None:
    stream = _load(cache, DataSpec(), "stream")
    for split in ("train", "val", "test"):
        part = stream._split(split)
        assert isinstance(part.images, np.memmap) and isinstance(part.visits, np.memmap)


def test_a_pass_left_early_stops_its_thread(cache) -> None:
    stream = _load(cache, DataSpec(), "stream")

    def first_two() -> int:  # a loop that returns mid-pass, as fit does on Ctrl-C
        for index, _batch in enumerate(
            stream.batches("train", batch_size=4, epoch=1, seed=0, reuse_buffers=True)
        ):
            if index == 1:
                return index
        return -1

    assert first_two() == 1
    assert _prefetch_threads() == []
    batches = stream.batches("val", batch_size=4, epoch=None, seed=0)
    next(batches)
    assert len(_prefetch_threads()) == 1
    batches.close()
    assert _prefetch_threads() == []


def test_an_error_while_prefetching_reaches_the_loop(cache, monkeypatch) -> None:
    stream = _load(cache, DataSpec(), "stream")
    calls = []

    def failing(self, split, index, visits):
        calls.append(len(index))
        if len(calls) == 2:
            raise OSError("Input/output error reading images.npy")
        return real(self, split, index, visits)

    real = _Tiles.gather
    monkeypatch.setattr(_Tiles, "gather", failing)
    batches = stream.batches("test", batch_size=4, epoch=None, seed=0)
    next(batches)
    with pytest.raises(OSError, match="Input/output error"):
        next(batches)
    assert _prefetch_threads() == []


def test_a_batch_in_the_loops_hands_survives_the_prefetch(cache) -> None:
    """The thread runs ahead by as many batches as it can while the loop holds one; that one
    (reused memory) must stay as it was until the loop asks for the next."""
    from ablate.data._batch import plan_pass
    from ablate.data._stream import PREFETCH, StreamPass

    stream = _load(cache, DataSpec(), "stream")
    expected = _pass(stream, "train", reuse=False)
    pulled, ahead = [0], threading.Condition()

    def counted(steps):
        for step in steps:
            with ahead:
                pulled[0] += 1
                ahead.notify_all()
            yield step

    steps = plan_pass(
        stream.num_samples("train"), split="train", batch_size=7, epoch=3, seed=5, augment=True
    )
    stream_pass = StreamPass(
        stream._split("train"), counted(steps), converter=stream._convert, device=CPU,
        batch_rows=7, reuse_buffers=True,
    )  # fmt: skip
    for k, batch in enumerate(stream_pass):
        with ahead:  # the thread has filled every free slot (or reached the end)
            ahead.wait_for(
                lambda k=k: pulled[0] >= min(k + PREFETCH + 2, len(expected)), timeout=30
            )
        assert all(torch.equal(x, y) for x, y in zip(batch, expected[k], strict=True)), k


def test_the_memory_model_counts_the_stream_ring_the_loader_keeps():
    from ablate.data._memory import STREAM_BATCHES
    from ablate.data._stream import PREFETCH

    assert STREAM_BATCHES == PREFETCH + 2
