"""The stream path: each batch gathered from the memory-mapped cache, prefetched by a thread.

Nothing of the cache is copied per trial: the rows are read through the memory map, so every
slot on a machine shares the page cache's one copy. A background thread gathers the next
batches (``PREFETCH`` ahead) while the loop computes; on a CPU slot it also converts them
(NHWC → NCHW, normalised floats), on a GPU it fills pinned buffers that the loop copies to the
device without blocking. Batches live in a ring of ``PREFETCH + 2`` slots (one being filled,
``PREFETCH`` queued, one in the loop's hands), so a batch stays valid until the next one is
asked for, as on the resident path.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ablate.data._batch import Converter, Step
from ablate.data.cache import CachedData

PREFETCH = 2  # batches gathered ahead of the loop
Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


@dataclass
class MappedSplit:
    """A split's rows as positions into the cache's memory maps (nothing copied)."""

    images: np.ndarray  # uint8 (N, 100, 100, 3), memory-mapped
    visits: np.ndarray  # uint16 (N, 7, 26, 24), memory-mapped
    rows: np.ndarray  # int64 (n,): the split's rows of the cache
    labels: torch.Tensor  # int64 (n,), on the CPU

    @classmethod
    def of(cls, cache: CachedData, rows: np.ndarray) -> MappedSplit:
        labels = torch.from_numpy(np.ascontiguousarray(np.asarray(cache.labels)[rows]))
        return cls(cache.images, cache.visits, np.asarray(rows, dtype=np.int64), labels)

    def __post_init__(self) -> None:
        # Torch views of the maps (no copy): index_select gathers ~2x faster than np.take. The
        # maps are read-only and only ever read, which is what torch's warning is about.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            self.image_view = torch.from_numpy(self.images)
            self.visit_view = torch.from_numpy(self.visits.view(np.int16))

    def __len__(self) -> int:
        return len(self.rows)


class _Tiles:
    """Gather memory: a batch's uint8 tiles (NHWC) and uint16 counts, as the map holds them."""

    def __init__(self, split: MappedSplit, rows: int, *, pin: bool) -> None:
        shape = (rows, *split.images.shape[1:])
        self.tiles = torch.empty(shape, dtype=torch.uint8, pin_memory=pin)
        self.counts = np.empty((rows, *split.visits.shape[1:]), dtype=split.visits.dtype)

    def gather(self, split: MappedSplit, index: torch.Tensor, visits: torch.Tensor) -> int:
        """The rows at ``index`` into ``tiles`` and, as float32, into ``visits``."""
        rows = torch.from_numpy(split.rows[index.numpy()])
        count = len(rows)
        torch.index_select(split.image_view, 0, rows, out=self.tiles[:count])
        counts = self.counts[:count]
        torch.index_select(split.visit_view, 0, rows, out=torch.from_numpy(counts.view(np.int16)))
        visits.numpy()[:count] = counts  # exact: counts < 2**24
        return count


class _Slot:
    """Memory for one batch in flight. For a GPU: pinned tiles and visits that the loop copies
    to the device. On a CPU the thread gathers into scratch memory of its own and converts at
    once, so a slot holds only the finished batch (visits, and full-size images if kept)."""

    def __init__(self, split: MappedSplit, rows: int, *, on_gpu: bool, images: bool) -> None:
        shape = (rows, *split.visits.shape[1:])
        self.visits = torch.empty(shape, dtype=torch.float32, pin_memory=on_gpu)
        self.tiles = _Tiles(split, rows, pin=True) if on_gpu else None
        full = (rows, 3, *split.images.shape[1:3])
        self.images = torch.empty(full, dtype=torch.float32) if images else None
        self.copied: torch.cuda.Event | None = None  # the device has read this slot's memory


_END = object()


@dataclass(frozen=True)
class _Failed:
    error: BaseException


@dataclass(frozen=True)
class _Ready:
    slot: _Slot
    step: Step
    count: int
    batch: Batch | None  # converted already (CPU), or None: the loop finishes it on the GPU


class StreamPass:
    """One pass over a mapped split: iterate it once; closing it early stops its thread."""

    def __init__(
        self, split: MappedSplit, steps: Iterator[Step], *, converter: Converter,
        device: torch.device, batch_rows: int, reuse_buffers: bool,
    ) -> None:  # fmt: skip
        self._split, self._steps, self._convert = split, steps, converter
        self._device, self._reuse = device, reuse_buffers
        on_gpu = device.type == "cuda"
        resizes = converter.size != split.images.shape[2]
        keep = reuse_buffers and not on_gpu  # finished images written into the slot's memory
        self._slots = [
            _Slot(split, batch_rows, on_gpu=on_gpu, images=keep and not resizes)
            for _ in range(PREFETCH + 2)
        ]
        self._scratch = None if on_gpu else _Tiles(split, batch_rows, pin=False)
        full = (batch_rows, 3, *split.images.shape[1:3])  # before resizing (then: fresh out)
        self._full = torch.empty(full, dtype=torch.float32) if keep and resizes else None
        self._free: queue.Queue[_Slot | None] = queue.Queue()
        for slot in self._slots:
            self._free.put(slot)
        self._ready: queue.Queue[object] = queue.Queue(maxsize=PREFETCH)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._produce, name="ablate-prefetch", daemon=True)
        self._device_buffers = _DeviceBuffers(split, batch_rows, device) if on_gpu else None

    # -- the background thread -------------------------------------------------------------

    def _produce(self) -> None:
        try:
            for step in self._steps:
                slot = self._free.get()
                if slot is None or self._stop.is_set():
                    return
                if slot.copied is not None:
                    slot.copied.synchronize()  # the last copy out of its pinned memory is done
                tiles = slot.tiles or self._scratch
                assert tiles is not None
                count = tiles.gather(self._split, step.index, slot.visits)
                batch = None if slot.tiles is not None else self._on_host(slot, step, count)
                self._ready.put(_Ready(slot, step, count, batch))
                if self._stop.is_set():
                    return
            self._ready.put(_END)
        except BaseException as error:  # handed to the loop, which raises it
            self._ready.put(_Failed(error))

    def _on_host(self, slot: _Slot, step: Step, count: int) -> Batch:
        assert self._scratch is not None
        tiles = self._scratch.tiles[:count].permute(0, 3, 1, 2)
        out = slot.images if slot.images is not None else self._full
        images = self._convert.images(tiles, step.case, out=out)
        counts = slot.visits[:count] if self._reuse else slot.visits[:count].clone()
        return images, self._convert.visits(counts), self._split.labels[step.index]

    # -- the loop's side -------------------------------------------------------------------

    def __iter__(self) -> Iterator[Batch]:
        self.thread.start()
        held: _Slot | None = None
        try:
            while True:
                item = self._ready.get()
                if held is not None:  # the loop is done with the previous batch
                    self._free.put(held)
                    held = None
                if item is _END:
                    return
                if isinstance(item, _Failed):
                    raise item.error
                assert isinstance(item, _Ready)
                held = item.slot
                yield item.batch if item.batch is not None else self._on_device(item)
        finally:
            self._close()

    def _on_device(self, item: _Ready) -> Batch:
        slot, count, buffers = item.slot, item.count, self._device_buffers
        assert buffers is not None and slot.tiles is not None
        host = slot.tiles.tiles[:count]
        if self._reuse:
            tiles = buffers.tiles[:count].copy_(host, non_blocking=True)
            counts = buffers.visits[:count].copy_(slot.visits[:count], non_blocking=True)
        else:
            tiles = host.to(self._device, non_blocking=True)
            counts = slot.visits[:count].to(self._device, non_blocking=True)
        if slot.copied is None:
            slot.copied = torch.cuda.Event()
        slot.copied.record()  # the thread refills these pinned buffers only after the copy
        out = buffers.images if self._reuse else None
        images = self._convert.images(tiles.permute(0, 3, 1, 2), item.step.case, out=out)
        labels = self._split.labels[item.step.index].to(self._device)
        return images, self._convert.visits(counts), labels

    def _close(self) -> None:
        """Stop the thread wherever it waits, and wait for it (no thread outlives a pass)."""
        self._stop.set()
        self._free.put(None)  # wakes it if it waits for a free slot
        while self.thread.is_alive():
            with contextlib.suppress(queue.Empty):  # wakes it if it waits to hand one over
                self._ready.get(timeout=0.05)
        self.thread.join()


class _DeviceBuffers:
    """One batch's worth of device memory for a GPU pass (see ``reuse_buffers``)."""

    def __init__(self, split: MappedSplit, rows: int, device: torch.device) -> None:
        self.tiles = torch.empty((rows, *split.images.shape[1:]), dtype=torch.uint8, device=device)
        self.visits = torch.empty(
            (rows, *split.visits.shape[1:]), dtype=torch.float32, device=device
        )
        full = (rows, 3, *split.images.shape[1:3])
        self.images = torch.empty(full, dtype=torch.float32, device=device)
