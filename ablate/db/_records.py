"""Plain frozen records that queries return and writers take (no ORM objects leak out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


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
    data_path: str = ""  # resident | stream ('' not recorded)
    peak_memory_bytes: int | None = None
