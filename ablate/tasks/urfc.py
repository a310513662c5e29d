"""The built-in task: URFC regions from images and visits (Cao et al. 2020).

It is a task like any user's: ``fit`` trains it through the same path. Its data are the
prepared cache (or synthetic data) on the device, its model the two-branch fusion model of
``ablate.models``, its loss the weighted terms of ``config.loss``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from ablate.data import ensure_dataset, open_cache
from ablate.data._placement import DataPlacement, Decision
from ablate.data.loader import DeviceData
from ablate.models import build_model, compute_loss, count_flops
from ablate.spec import TrialConfig
from ablate.tasks._base import Task


class URFCData:
    """``DeviceData`` as a ``TaskData``: batches reuse one set of buffers (the loop uses each
    batch before the next, and a fresh allocation costs as much as the copy on the CPU)."""

    def __init__(self, data: DeviceData) -> None:
        self.device_data = data

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.device_data.class_names

    @property
    def data_path(self) -> str:
        return self.device_data.data_path

    @property
    def data_placement(self) -> Decision:
        """The path and why it was chosen (for the trial's log)."""
        return self.device_data.decision

    def num_samples(self, split: str) -> int:
        return self.device_data.num_samples(split)

    def batches(
        self, split: str, *, batch_size: int, epoch: int | None, seed: int
    ) -> Iterator[tuple[torch.Tensor, ...]]:
        return self.device_data.batches(
            split, batch_size=batch_size, epoch=epoch, seed=seed, reuse_buffers=True
        )


def channels_last(config: TrialConfig, device: torch.device) -> bool:
    setting = config.train.channels_last
    return setting is True or (setting == "auto" and device.type == "cuda")


class URFC(Task):
    """Images (B,3,S,S) and visit tensors (B,7,26,24) → one of the cache's classes.

    ``placement``: how its trials hold their rows (the study's ``resources``; by default
    ``auto``); it changes memory and speed, never a number."""

    def __init__(self, placement: DataPlacement | None = None) -> None:
        self.placement = placement or DataPlacement()

    def load(self, config: TrialConfig, *, device: torch.device, data_root: Path) -> URFCData:
        cache = open_cache(ensure_dataset(config.data, root=data_root))
        return URFCData(
            DeviceData.load(cache, config.data, device=device, placement=self.placement)
        )

    def build_model(
        self, config: TrialConfig, *, num_classes: int, device: torch.device
    ) -> torch.nn.Module:
        model = build_model(
            config.model, config.loss, num_classes=num_classes, image_size=config.data.image_size
        ).to(device)
        if channels_last(config, device):
            model.to(memory_format=torch.channels_last)
        return model

    def forward(
        self, model: torch.nn.Module, inputs: Sequence[torch.Tensor], config: TrialConfig, *,
        training: bool,
    ) -> Any:  # fmt: skip
        images, visits = inputs
        # Only training batches change format: evaluation has always fed the loader's layout,
        # and keeping it keeps every stored number of earlier studies reproducible.
        if training and channels_last(config, images.device):
            images = images.contiguous(memory_format=torch.channels_last)
        return model(images, visits)

    def loss(
        self, output: Any, targets: torch.Tensor, config: TrialConfig
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return compute_loss(output, targets, config.loss)

    def flops(self, model: torch.nn.Module, config: TrialConfig) -> float | None:
        return float(count_flops(model, image_size=config.data.image_size))
