"""Plain frozen records that queries return and writers take (no ORM objects leak out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    """Why a failed attempt failed; retries decide on it, never on message text."""

    NONE = ""
    EXCEPTION = "exception"  # the training code raised: retried up to max_retries
    OOM = "oom"  # out of device memory: retried, with the batch halved if the study says so
    USAGE = "usage"  # the study asks for something impossible (a usage error): never retried
    DIED = "died"  # the worker process died without a result (segfault, kill): retried


@dataclass(frozen=True)
class SplitMetrics:
    """Final metrics of one split at the chosen (best-validation) epoch."""

    split: str
    epoch: int
    accuracy: float
    kappa: float
    macro_f1: float
    loss: float
    n_samples: int
    class_accuracy: tuple[float, ...]
    class_support: tuple[int, ...]
    confusion: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class EpochValues:
    epoch: int
    train_loss: float
    val_loss: float
    val_accuracy: float
    lr: float
    seconds: float
    extras: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StudyRecord:
    id: int
    name: str
    description: str
    kind: str
    spec: dict[str, Any]
    spec_path: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class StudySummary:
    name: str
    kind: str
    description: str
    counts: dict[str, int]
    updated_at: datetime


@dataclass(frozen=True)
class TrialRecord:
    id: int
    number: int
    run_key: str
    cell_key: str
    cell: dict[str, Any]
    params: dict[str, Any]
    seed: int
    state: str
    attempt: int
    started_at: datetime
    finished_at: datetime | None
    heartbeat_at: datetime
    host: str
    pid: int
    device: str
    git_commit: str
    best_epoch: int | None
    objective: float | None
    n_params: int | None
    flops: float | None
    error: str
    resumed_from_epoch: int
    config: dict[str, Any]
    versions: dict[str, Any]
    log_path: str
    batch_size: int | None


@dataclass(frozen=True)
class ResultRecord:
    """One complete trial's final metric on one split, with its cell and seed."""

    trial_id: int
    cell_key: str
    cell: dict[str, Any]
    params: dict[str, Any]
    seed: int
    split: str
    epoch: int
    accuracy: float
    kappa: float
    macro_f1: float
    loss: float


@dataclass(frozen=True)
class EpochRecord:
    trial_id: int
    epoch: int
    train_loss: float
    val_loss: float
    val_accuracy: float
    lr: float
    seconds: float
