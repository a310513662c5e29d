"""Training-time loader: the cache's arrays on the device once, batches cut and augmented there.

Nothing is decoded or parsed here. Images stay uint8 on the device and become normalised
float32 one batch at a time. The training order and augmentation of an epoch come from a
``torch.Generator`` seeded by (seed, epoch) alone, so a run resumed at epoch k sees exactly the
batches an uninterrupted run sees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ablate.data.cache import CachedData
from ablate.spec import DataSpec

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
_STATS_ROWS = 4096  # rows per step when computing the channel mean and std
_BLOCK = 16  # tiles per step when augmenting and normalising (fits the CPU cache)


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A CPU generator that depends only on (seed, epoch)."""
    state = np.random.SeedSequence([seed, epoch, 0x5EED]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def _visit_transform(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    # Each gets a fresh float32 batch and may work in place.
    def raw(v: torch.Tensor) -> torch.Tensor:
        return v

    def max_(v: torch.Tensor) -> torch.Tensor:
        return v.div_(v.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1.0))  # counts: max >= 1 or 0

    return {"raw": raw, "log1p": torch.Tensor.log1p_, "max": max_}[name]


def _channel_stats(images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std (0–1 scale) of uint8 (n, 3, H, W) images, exact sums."""
    total = torch.zeros(3, dtype=torch.float64, device=images.device)
    squares = torch.zeros(3, dtype=torch.float64, device=images.device)
    for start in range(0, len(images), _STATS_ROWS):
        block = images[start : start + _STATS_ROWS].to(torch.int32)  # squares < 2**16: exact
        total += block.sum(dim=(0, 2, 3), dtype=torch.float64)
        squares += (block * block).sum(dim=(0, 2, 3), dtype=torch.float64)
    count = max(len(images), 1) * images.shape[2] * images.shape[3] * 255.0
    mean = (total / count).cpu().numpy()
    std = np.sqrt(np.maximum((squares / (count * 255.0)).cpu().numpy() - mean**2, 1e-12))
    return mean, std


@dataclass
class _Split:
    images: torch.Tensor  # uint8 (n, 3, 100, 100)
    visits: torch.Tensor  # counts (n, 7, 26, 24), the smallest signed dtype that holds them
    labels: torch.Tensor  # int64 (n,)


class DeviceData:
    """The train/val/test rows of a cache, resident on one device."""

    def __init__(
        self,
        splits: dict[str, _Split],
        data: DataSpec,
        mean,
        std,
        class_counts,
        class_names: tuple[str, ...],
    ):
        self._splits = splits
        self._data = data
        device = splits["train"].images.device
        self.mean, self.std = mean, std  # per channel, on the 0–1 scale
        scale = 1.0 / (255.0 * np.asarray(std))
        self._scale = torch.as_tensor(scale, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        shift = np.asarray(mean) / np.asarray(std)
        self._shift = torch.as_tensor(shift, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self._visit_transform = _visit_transform(data.visit_transform)
        self.class_counts = class_counts  # np.int64 (classes,): training rows per class
        self.class_names = class_names  # the data names its classes; nothing else counts them
        self.device = device

    @classmethod
    def load(
        cls, cache: CachedData, data: DataSpec, *, device: torch.device, pin: bool = True
    ) -> DeviceData:
        rows = {name: np.asarray(cache.splits[name]) for name in ("train", "val", "test")}
        if data.train_limit is not None:
            rows["train"] = rows["train"][: data.train_limit]
        pin = pin and torch.device(device).type == "cuda"
        splits = {name: _to_device(cache, r, device, pin) for name, r in rows.items()}
        mean, std = _channel_stats(splits["train"].images)
        names = cache.class_names
        counts = np.bincount(np.asarray(cache.labels)[rows["train"]], minlength=len(names))
        return cls(splits, data, mean, std, counts.astype(np.int64), names)

    def num_samples(self, split: str) -> int:
        return len(self._split(split).labels)

    def _split(self, split: str) -> _Split:
        if split not in self._splits:
            raise ValueError(f"unknown split {split!r}; use 'train', 'val' or 'test'")
        return self._splits[split]

    def batches(
        self,
        split: str,
        *,
        batch_size: int,
        epoch: int | None,
        seed: int,
        reuse_buffers: bool = False,
    ) -> Iterator[Batch]:
        """Batches of (images (B,3,S,S) float32, visits (B,7,26,24) float32, labels int64).

        "train" is shuffled and augmented from (seed, epoch) only; a last batch of a single
        sample is dropped (BatchNorm cannot train on it). "val"/"test" keep their order.

        With ``reuse_buffers`` the image and visit tensors are written into the same memory
        batch after batch (no fresh allocation, which costs as much as the copy on the CPU):
        a batch is valid until the next one is asked for. The training and evaluation loops
        use each batch before the next; code that keeps batches must leave it off.
        """
        part = self._split(split)
        n = len(part.labels)
        generator = None
        if split == "train":
            if epoch is None:
                raise ValueError("the 'train' split needs an epoch number")
            generator = epoch_generator(seed, epoch)
            order = torch.randperm(n, generator=generator)
        else:
            order = torch.arange(n)
        buffers = _Buffers(part, min(batch_size, n)) if reuse_buffers else None
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            if generator is not None and len(index) == 1 and n > 1:
                break
            flips = None
            if generator is not None and self._data.augment:
                flips = torch.randint(0, 2, (3, len(index)), generator=generator)
                turns = torch.randint(0, 4, (len(index),), generator=generator)
                flips = (flips, turns)
            yield self._make_batch(part, index.to(part.labels.device), flips, buffers)

    def _make_batch(
        self, part: _Split, index: torch.Tensor, flips, buffers: _Buffers | None
    ) -> Batch:
        count = len(index)
        if flips is None:
            case = torch.zeros(count, dtype=torch.int64, device=index.device)
        else:
            # Group the batch by augmentation case so each case is one contiguous slice:
            # one gather, then one strided copy per case (2x faster than scattering).
            case = _augment_case(*(t.to(index.device) for t in flips))
            order = torch.argsort(case, stable=True)
            index, case = index[order], case[order]
        if buffers is None:
            gathered = part.images.index_select(0, index)
            images = torch.empty(gathered.shape, dtype=torch.float32, device=gathered.device)
            visits = part.visits.index_select(0, index)
            visits_float = torch.empty(visits.shape, dtype=torch.float32, device=visits.device)
        else:
            gathered = torch.index_select(part.images, 0, index, out=buffers.gathered[:count])
            images = buffers.images[:count]
            visits = torch.index_select(part.visits, 0, index, out=buffers.visits[:count])
            visits_float = buffers.visits_float[:count]
        size = self._data.image_size
        if size == gathered.shape[-1]:
            _augment_normalise(gathered, case, images, self._scale, self._shift)
        else:  # augment at full size, then resize and normalise
            _augment_normalise(gathered, case, images, None, None)
            images = F.interpolate(images, size=(size, size), mode="bilinear", antialias=True)
            images.mul_(self._scale).sub_(self._shift)
        visits = self._visit_transform(visits_float.copy_(visits))
        return images, visits, part.labels.index_select(0, index)


class _Buffers:
    """One batch's worth of memory for a pass over a split (see ``reuse_buffers``)."""

    def __init__(self, part: _Split, rows: int) -> None:
        def like(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
            return torch.empty((rows, *t.shape[1:]), dtype=dtype, device=t.device)

        self.gathered = like(part.images, part.images.dtype)
        self.images = like(part.images, torch.float32)
        self.visits = like(part.visits, part.visits.dtype)
        self.visits_float = like(part.visits, torch.float32)


def _augment_case(flips: torch.Tensor, turns: torch.Tensor) -> torch.Tensor:
    """Per-sample horizontal flip, then vertical flip, then 90° turns, as one of 8 cases.

    A vertical flip is a horizontal one turned by 180°, so the draws reduce to
    (mirror or not) × 4 turns: case = 4 · mirror + turns.
    """
    mirror = flips[0] ^ flips[1]
    return mirror * 4 + (turns + 2 * flips[1]) % 4


def _augment_normalise(
    images: torch.Tensor,
    case: torch.Tensor,
    out: torch.Tensor,
    scale: torch.Tensor | None,
    shift: torch.Tensor | None,
) -> None:
    """Write each uint8 square tile, turned by its case, into float32 ``out`` as ``x·scale −
    shift``; ``case`` must be sorted.

    The work goes in blocks of ``_BLOCK`` tiles so that the normalising passes find the
    converted pixels still in the CPU cache (~30 % faster than whole-batch passes, same
    numbers). A GPU has no use for them and gets one block per case.
    """
    step = _BLOCK if images.device.type == "cpu" else max(1, len(images))
    start = 0
    for c, count in enumerate(torch.bincount(case, minlength=8).tolist()):
        for first in range(start, start + count, step):
            last = min(first + step, start + count)
            part = images[first:last]
            part = part.flip(-1) if c >= 4 else part
            part = torch.rot90(part, c % 4, dims=(-2, -1)) if c % 4 else part
            block = out[first:last]
            block.copy_(part)
            if scale is not None:
                block.mul_(scale).sub_(shift)
        start += count


def _to_device(cache: CachedData, rows: np.ndarray, device, pin: bool) -> _Split:
    images = torch.from_numpy(np.take(cache.images, rows, axis=0))
    visits = np.take(cache.visits, rows, axis=0)
    top = int(visits.max(initial=0))
    small = np.uint8 if top <= 255 else np.int16 if top <= 32767 else np.int32
    visits = torch.from_numpy(visits.astype(small))  # uint16 has few torch kernels
    labels = torch.from_numpy(np.ascontiguousarray(np.asarray(cache.labels)[rows]))
    images = images.permute(0, 3, 1, 2).contiguous()
    tensors = [images, visits, labels]
    if pin:
        tensors = [t.pin_memory() for t in tensors]
    return _Split(*(t.to(device, non_blocking=pin) for t in tensors))
