"""What a training run tells the outside world, and how it is asked to stop or prune."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from ablate.train._metrics import SplitScores


@dataclass(frozen=True)
class EpochReport:
    epoch: int  # 1-based
    train_loss: float
    val_loss: float
    val_accuracy: float
    lr: float
    seconds: float
    extras: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FitResult:
    status: Literal["complete", "pruned", "stopped"]
    best_epoch: int
    objective: float | None
    val: SplitScores | None
    test: SplitScores | None
    n_params: int
    flops: float | None
    batch_size: int
    resumed_from_epoch: int
    device: str


class Reporter(Protocol):
    def epoch(self, report: EpochReport, *, replayed: bool) -> None:
        """An epoch finished (``replayed``: re-sent from a checkpoint after a resume)."""

    def should_prune(self, epoch: int, value: float) -> bool:
        """Ask the pruner whether to stop this trial after ``epoch``."""

    def should_stop(self) -> bool:
        """True once the user asked the study to stop (Ctrl-C): stop at the next batch."""

    def note(self, text: str) -> None:
        """Something the person running the study should know (e.g. a damaged checkpoint)."""


class NullReporter:
    """A reporter that records epochs in a list; for direct calls and tests."""

    def __init__(self) -> None:
        self.epochs: list[EpochReport] = []
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)

    def epoch(self, report: EpochReport, *, replayed: bool) -> None:
        self.epochs.append(report)

    def should_prune(self, epoch: int, value: float) -> bool:
        return False

    def should_stop(self) -> bool:
        return False
