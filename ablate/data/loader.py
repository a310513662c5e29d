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


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A CPU generator that depends only on (seed, epoch)."""
    state = np.random.SeedSequence([seed, epoch, 0x5EED]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def _visit_transform(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    def raw(v: torch.Tensor) -> torch.Tensor:
        return v

    def max_(v: torch.Tensor) -> torch.Tensor:
        return v / v.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1.0)  # counts: max >= 1 or 0

    return {"raw": raw, "log1p": torch.log1p, "max": max_}[name]


def _channel_stats(images: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std (on the 0–1 scale) of the given rows, in float64."""
    total = np.zeros(3)
    squares = np.zeros(3)
    for start in range(0, len(rows), _STATS_ROWS):
        block = images[np.sort(rows[start : start + _STATS_ROWS])].astype(np.float64) / 255.0
        total += block.sum(axis=(0, 1, 2))
        squares += np.square(block).sum(axis=(0, 1, 2))
    count = max(len(rows), 1) * images.shape[1] * images.shape[2]
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 1e-12))
    return mean, std


@dataclass
class _Split:
    images: torch.Tensor  # uint8 (n, 3, 100, 100)
    visits: torch.Tensor  # int16 view of uint16 counts (n, 7, 26, 24)
    labels: torch.Tensor  # int64 (n,)


class DeviceData:
    """The train/val/test rows of a cache, resident on one device."""

    def __init__(self, splits: dict[str, _Split], data: DataSpec, mean, std, class_counts):
        self._splits = splits
        self._data = data
        device = splits["train"].images.device
        self._mean = torch.as_tensor(mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self._std = torch.as_tensor(std, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self._visit_transform = _visit_transform(data.visit_transform)
        self.class_counts = class_counts  # np.int64 (9,): training rows per class
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
        mean, std = _channel_stats(cache.images, rows["train"])
        counts = np.bincount(np.asarray(cache.labels)[rows["train"]], minlength=9)
        return cls(splits, data, mean, std, counts.astype(np.int64))

    def num_samples(self, split: str) -> int:
        return len(self._split(split).labels)

    def _split(self, split: str) -> _Split:
        if split not in self._splits:
            raise ValueError(f"unknown split {split!r}; use 'train', 'val' or 'test'")
        return self._splits[split]

    def batches(
        self, split: str, *, batch_size: int, epoch: int | None, seed: int
    ) -> Iterator[Batch]:
        """Batches of (images (B,3,S,S) float32, visits (B,7,26,24) float32, labels int64).

        "train" is shuffled and augmented from (seed, epoch) only; a last batch of a single
        sample is dropped (BatchNorm cannot train on it). "val"/"test" keep their order.
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
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            if generator is not None and len(index) == 1 and n > 1:
                break
            flips = None
            if generator is not None and self._data.augment:
                flips = torch.randint(0, 2, (3, len(index)), generator=generator)
                turns = torch.randint(0, 4, (len(index),), generator=generator)
                flips = (flips, turns)
            yield self._make_batch(part, index.to(part.labels.device), flips)

    def _make_batch(self, part: _Split, index: torch.Tensor, flips) -> Batch:
        images = part.images.index_select(0, index)
        if flips is not None:
            images = _augment(images, *(t.to(images.device) for t in flips))
        images = images.float().div_(255.0)
        size = self._data.image_size
        if size != images.shape[-1]:
            images = F.interpolate(
                images, size=(size, size), mode="bilinear", antialias=True, align_corners=False
            )
        images = (images - self._mean) / self._std
        visits = part.visits.index_select(0, index).to(torch.int32).bitwise_and_(0xFFFF).float()
        return images, self._visit_transform(visits), part.labels.index_select(0, index)


def _augment(images: torch.Tensor, flips: torch.Tensor, turns: torch.Tensor) -> torch.Tensor:
    """Per-sample horizontal/vertical flips and 90° turns (uint8, square tiles)."""
    hflip = flips[0].bool().view(-1, 1, 1, 1)
    vflip = flips[1].bool().view(-1, 1, 1, 1)
    images = torch.where(hflip, images.flip(-1), images)
    images = torch.where(vflip, images.flip(-2), images)
    out = images.clone()
    for k in (1, 2, 3):
        chosen = torch.nonzero(turns == k).flatten()
        if len(chosen):
            out[chosen] = torch.rot90(images[chosen], k, dims=(-2, -1))
    return out


def _to_device(cache: CachedData, rows: np.ndarray, device, pin: bool) -> _Split:
    sorted_rows = np.sort(rows)  # sequential reads from the memory map
    back = np.argsort(np.argsort(rows, kind="stable"), kind="stable")
    images = torch.from_numpy(np.ascontiguousarray(cache.images[sorted_rows][back]))
    visits = torch.from_numpy(np.ascontiguousarray(cache.visits[sorted_rows][back]).view(np.int16))
    labels = torch.from_numpy(np.ascontiguousarray(np.asarray(cache.labels)[rows]))
    images = images.permute(0, 3, 1, 2).contiguous()
    tensors = [images, visits, labels]
    if pin:
        tensors = [t.pin_memory() for t in tensors]
    return _Split(*(t.to(device, non_blocking=pin) for t in tensors))
