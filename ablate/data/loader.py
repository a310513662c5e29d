"""Training-time loader: a trial's train/val/test rows, and batches cut and augmented from them.

Nothing is decoded or parsed here. Two data paths give the same batches (bit for bit on the
CPU): ``resident`` copies the rows onto the device once (uint8, chunk by chunk) and cuts
batches there; ``stream`` gathers each batch from the memory-mapped cache in a background
thread, so no slot holds a copy of its own (``ablate.data._placement`` chooses). Images
become normalised float32 one batch at a time. The training order and augmentation of an
epoch come from a ``torch.Generator`` seeded by (seed, epoch) alone, so a run resumed at epoch
k sees exactly the batches an uninterrupted run sees.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from ablate.data._batch import Converter, Step, epoch_generator, plan_pass, visit_transform
from ablate.data._memory import residency_bytes
from ablate.data._placement import DataPlacement, Decision, choose_data_path
from ablate.data._resident import ResidentSplit, channel_stats, resident_split
from ablate.data._stream import MappedSplit, StreamPass
from ablate.data.cache import CachedData
from ablate.spec import DataSpec

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
_visit_transform = visit_transform  # the name the tests know
__all__ = ["Batch", "DeviceData", "epoch_generator"]


def _free_bytes(device: torch.device) -> int | None:
    if device.type != "cuda":
        return None
    free, _total = torch.cuda.mem_get_info(device)
    return int(free)


class DeviceData:
    """The train/val/test rows of a cache for one device: resident there, or streamed."""

    def __init__(
        self,
        splits: dict[str, ResidentSplit | MappedSplit],
        data: DataSpec,
        mean,
        std,
        class_counts,
        class_names: tuple[str, ...],
        *,
        device: torch.device,
        decision: Decision,
    ):
        self._splits = splits
        self._data = data
        self.mean, self.std = mean, std  # per channel, on the 0–1 scale
        self._convert = Converter(
            mean=mean, std=std, image_size=data.image_size, transform=data.visit_transform,
            device=device,
        )  # fmt: skip
        self.class_counts = class_counts  # np.int64 (classes,): training rows per class
        self.class_names = class_names  # the data names its classes; nothing else counts them
        self.device = device
        self.decision = decision

    @property
    def data_path(self) -> str:
        """'resident' or 'stream': how this trial holds its rows."""
        return self.decision.path

    @classmethod
    def load(
        cls,
        cache: CachedData,
        data: DataSpec,
        *,
        device: torch.device,
        placement: DataPlacement | None = None,
    ) -> DeviceData:
        """The rows on ``device`` by the path ``placement`` chooses (default: ``auto``)."""
        device = torch.device(device)
        rows = {name: np.asarray(cache.splits[name]) for name in ("train", "val", "test")}
        if data.train_limit is not None:
            rows["train"] = rows["train"][: data.train_limit]
        decision = choose_data_path(
            placement or DataPlacement(),
            device_kind="cuda" if device.type == "cuda" else "cpu",
            rows_bytes=residency_bytes(cache.manifest, data.train_limit),
            device_free_bytes=_free_bytes(device),
        )
        if decision.path == "resident":
            splits = {name: resident_split(cache, r, device) for name, r in rows.items()}
        else:
            splits = {name: MappedSplit.of(cache, r) for name, r in rows.items()}
        mean, std = channel_stats(cache.images, rows["train"])
        names = cache.class_names
        counts = np.bincount(np.asarray(cache.labels)[rows["train"]], minlength=len(names))
        return cls(
            splits, data, mean, std, counts.astype(np.int64), names, device=device,
            decision=decision,
        )  # fmt: skip

    def num_samples(self, split: str) -> int:
        return len(self._split(split))

    def _split(self, split: str) -> ResidentSplit | MappedSplit:
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
        n = len(part)
        if split == "train" and epoch is None:
            raise ValueError("the 'train' split needs an epoch number")
        steps = plan_pass(
            n, split=split, batch_size=batch_size, epoch=epoch, seed=seed,
            augment=self._data.augment,
        )  # fmt: skip
        rows = max(1, min(batch_size, n))
        if isinstance(part, MappedSplit):
            return iter(StreamPass(
                part, steps, converter=self._convert, device=self.device, batch_rows=rows,
                reuse_buffers=reuse_buffers,
            ))  # fmt: skip
        return self._resident_batches(part, steps, rows, reuse_buffers)

    def _resident_batches(
        self, part: ResidentSplit, steps: Iterator[Step], rows: int, reuse_buffers: bool
    ) -> Iterator[Batch]:
        buffers = _Buffers(part, rows) if reuse_buffers else None
        for step in steps:
            index = step.index.to(part.labels.device)
            count = len(index)
            if buffers is None:
                tiles = part.images.index_select(0, index)
                counts = part.visits.index_select(0, index)
                floats = torch.empty(counts.shape, dtype=torch.float32, device=counts.device)
            else:
                tiles = torch.index_select(part.images, 0, index, out=buffers.tiles[:count])
                counts = torch.index_select(part.visits, 0, index, out=buffers.visits[:count])
                floats = buffers.visits_float[:count]
            out = buffers.images if buffers is not None else None
            images = self._convert.images(tiles, step.case, out=out)
            visits = self._convert.visits(floats.copy_(counts))
            yield images, visits, part.labels.index_select(0, index)


class _Buffers:
    """One batch's worth of memory for a pass over a resident split (see ``reuse_buffers``)."""

    def __init__(self, part: ResidentSplit, rows: int) -> None:
        def like(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
            return torch.empty((rows, *t.shape[1:]), dtype=dtype, device=t.device)

        self.tiles = like(part.images, part.images.dtype)
        self.images = like(part.images, torch.float32)
        self.visits = like(part.visits, part.visits.dtype)
        self.visits_float = like(part.visits, torch.float32)
