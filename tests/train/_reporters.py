"""Reporters for the training tests."""

from __future__ import annotations

from ablate.train import NullReporter


class StopAfter(NullReporter):
    """Asks the run to stop once ``epochs`` new epochs were reported (a Ctrl-C, a kill)."""

    def __init__(self, epochs: int) -> None:
        super().__init__()
        self._left = epochs

    def epoch(self, report, *, replayed: bool) -> None:
        super().epoch(report, replayed=replayed)
        if not replayed:
            self._left -= 1

    def should_stop(self) -> bool:
        return self._left <= 0


class PruneAt(NullReporter):
    def __init__(self, epoch: int) -> None:
        super().__init__()
        self._at = epoch

    def should_prune(self, epoch: int, value: float) -> bool:
        return epoch >= self._at
