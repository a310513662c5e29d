"""``TensorData``: a task's splits as in-memory tensors, batched the way resume needs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from ablate.data.loader import epoch_generator
from ablate.tasks._base import SPLITS


class TensorData:
    """Train/val/test as (inputs…, targets) tensors on one device.

    The "train" order is a permutation drawn from ``(seed, epoch)`` alone (the generator the
    URFC loader uses), so a run resumed at epoch k sees the batches an uninterrupted run
    sees; a last training batch of one sample is dropped (BatchNorm cannot train on it).
    """

    def __init__(
        self,
        splits: dict[str, Sequence[torch.Tensor]],
        *,
        class_names: Sequence[str],
        device: torch.device | str = "cpu",
    ) -> None:
        if set(splits) != set(SPLITS):
            raise ValueError(f"TensorData needs exactly the splits {SPLITS}, got {sorted(splits)}")
        self._splits: dict[str, tuple[torch.Tensor, ...]] = {}
        for name, tensors in splits.items():
            moved = tuple(torch.as_tensor(t).to(device) for t in tensors)
            if len(moved) < 2 or len({len(t) for t in moved}) != 1:
                raise ValueError(
                    f"split {name!r}: give inputs and targets as tensors of one length each"
                )
            self._splits[name] = (*moved[:-1], moved[-1].long())
        self._class_names = tuple(str(n) for n in class_names)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self._class_names

    def num_samples(self, split: str) -> int:
        return len(self._split(split)[-1])

    def _split(self, split: str) -> tuple[torch.Tensor, ...]:
        if split not in self._splits:
            raise ValueError(f"unknown split {split!r}; use 'train', 'val' or 'test'")
        return self._splits[split]

    def batches(
        self, split: str, *, batch_size: int, epoch: int | None, seed: int
    ) -> Iterator[tuple[torch.Tensor, ...]]:
        tensors = self._split(split)
        n = len(tensors[-1])
        if split == "train":
            if epoch is None:
                raise ValueError("the 'train' split needs an epoch number")
            order = torch.randperm(n, generator=epoch_generator(seed, epoch))
        else:
            order = torch.arange(n)
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            if split == "train" and len(index) == 1 and n > 1:
                break
            index = index.to(tensors[0].device)
            yield tuple(t.index_select(0, index) for t in tensors)
