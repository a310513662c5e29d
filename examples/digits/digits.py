"""A task of one's own: scikit-learn's handwritten digits (8×8 images, 10 classes).

The data ship with scikit-learn (no download) and train in seconds on a laptop CPU. ablate
keeps everything else: the loop, checkpoints, resume, pruning, metrics and reports. The
split comes from ``data.split_seed``, ``data.val_fraction`` and ``data.test_fraction``;
``data.train_limit`` keeps only the first N training rows; the network's width is
``model.embed_dim`` and its dropout ``model.dropout``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from ablate.spec import TrialConfig
from ablate.tasks import Task, TensorData

CLASS_NAMES = tuple(f"digit {d}" for d in range(10))


class Digits(Task):
    """A small CNN on the 8×8 digits; the data are stored as a few kilobytes of tensors."""

    def load(self, config: TrialConfig, *, device: torch.device, data_root: Path) -> TensorData:
        digits = load_digits()
        x = (digits.images / 16.0).astype(np.float32)[:, None]  # (n, 1, 8, 8) on 0–1
        y = digits.target.astype(np.int64)
        data = config.data
        held = data.val_fraction + data.test_fraction
        x_train, x_rest, y_train, y_rest = train_test_split(
            x, y, test_size=held, stratify=y, random_state=data.split_seed
        )
        x_val, x_test, y_val, y_test = train_test_split(
            x_rest, y_rest, test_size=data.test_fraction / held, stratify=y_rest,
            random_state=data.split_seed,
        )  # fmt: skip
        if data.train_limit is not None:
            x_train, y_train = x_train[: data.train_limit], y_train[: data.train_limit]
        splits = {
            "train": (torch.from_numpy(x_train), torch.from_numpy(y_train)),
            "val": (torch.from_numpy(x_val), torch.from_numpy(y_val)),
            "test": (torch.from_numpy(x_test), torch.from_numpy(y_test)),
        }
        return TensorData(splits, class_names=CLASS_NAMES, device=device)

    def build_model(
        self, config: TrialConfig, *, num_classes: int, device: torch.device
    ) -> nn.Module:
        width = config.model.embed_dim
        return nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2),  # 4×4
            nn.Flatten(),
            nn.Linear(32 * 4 * 4, width), nn.ReLU(), nn.Dropout(config.model.dropout),
            nn.Linear(width, num_classes),
        ).to(device)  # fmt: skip
