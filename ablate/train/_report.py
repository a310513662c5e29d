"""What a training run tells the outside world, and how it is asked to stop or prune."""

from __future__ import annotations

from typing import Protocol

from ablate.results import EpochResult


class Reporter(Protocol):
    def epoch(self, report: EpochResult, *, replayed: bool) -> None:
        """An epoch finished (``replayed``: re-sent from a checkpoint after a resume)."""

    def should_prune(self, epoch: int, value: float) -> bool:
        """Ask the pruner whether to stop this trial after ``epoch``."""

    def should_stop(self) -> bool:
        """True once the user asked the study to stop (Ctrl-C): stop at the next batch."""

    def note(self, text: str) -> None:
        """Something the person running the study should know (e.g. a damaged checkpoint)."""

    def measured(self, peak_memory_bytes: int | None, data_path: str) -> None:
        """After the trial's first training batch: its peak memory so far (its real need,
        activations included) and how it holds its data ('resident', 'stream' or '')."""


class NullReporter:
    """A reporter that records epochs in a list; for direct calls and tests."""

    def __init__(self) -> None:
        self.epochs: list[EpochResult] = []
        self.notes: list[str] = []
        self.measurements: list[tuple[int | None, str]] = []

    def note(self, text: str) -> None:
        self.notes.append(text)

    def measured(self, peak_memory_bytes: int | None, data_path: str) -> None:
        self.measurements.append((peak_memory_bytes, data_path))

    def epoch(self, report: EpochResult, *, replayed: bool) -> None:
        self.epochs.append(report)

    def should_prune(self, epoch: int, value: float) -> bool:
        return False

    def should_stop(self) -> bool:
        return False
