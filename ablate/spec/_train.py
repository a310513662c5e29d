"""The ``train:`` section: optimiser, schedule and numerics."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ablate.spec._base import Frozen


class TrainSpec(Frozen):
    epochs: int = Field(30, ge=1, le=10_000)
    batch_size: int = Field(256, ge=1, le=65_536)
    eval_batch_size: int = Field(1024, ge=1, le=65_536)
    lr: float = Field(1e-3, gt=0.0, le=10.0)
    weight_decay: float = Field(0.05, ge=0.0)
    warmup_epochs: int = Field(0, ge=0)
    min_lr_ratio: float = Field(0.0, ge=0.0, le=1.0)
    grad_clip: float | None = Field(None, gt=0.0)
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    channels_last: bool | Literal["auto"] = "auto"
    deterministic: bool = False
    halve_batch_on_oom: bool = False
