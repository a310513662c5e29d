"""A trial running in a slot's worker, as the scheduler follows it, and the lines it is told by."""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from ablate.results import EpochResult, ErrorKind, TrialResult
from ablate.scheduler.devices import Slot
from ablate.spec import TrialConfig, cell_text


@dataclass
class Active:
    slot: Slot
    process: Any
    conn: Connection
    trial: Any  # the optuna.Trial twin
    row_id: int
    config: TrialConfig
    started: float = field(default_factory=time.monotonic)
    epoch: int = 0
    epoch_seconds: list[float] = field(default_factory=list)
    val_accuracy: float | None = None
    finished: bool = False
    replayed: int = 0  # epochs replayed from a checkpoint (a resumed trial)

    @property
    def run_key(self) -> str:
        return self.config.run_key

    @property
    def number(self) -> int:
        return self.trial.number

    @property
    def epochs(self) -> int:
        return self.config.train.epochs

    @staticmethod
    def text(config: TrialConfig) -> str:
        """'confirm: deep_supervision=0.31, distillation=0.12, seed 2' (a grid run or a search
        trial without the phase)."""
        phase = f"{config.phase}: " if config.phase else ""
        return f"{phase}{cell_text({**config.cell, **config.params})}, seed {config.seed}"

    def epoch_done(self, result: EpochResult, *, replayed: bool) -> str | None:
        """Follow an epoch; returns a line worth showing (a resume's first new epoch)."""
        self.epoch, self.val_accuracy = result.epoch, result.val_accuracy
        if replayed:
            self.replayed = result.epoch
            return None
        self.epoch_seconds.append(result.seconds)
        if self.replayed and len(self.epoch_seconds) == 1:
            return f"trial {self.number} resumed from epoch {self.replayed} (its last checkpoint)"
        return None

    def eta_s(self) -> float | None:
        if not self.epoch_seconds:
            return None
        per_epoch = sum(self.epoch_seconds) / len(self.epoch_seconds)
        return per_epoch * (self.epochs - self.epoch)

    def completed_text(self, result: TrialResult, metric: str) -> str:
        """The validation objective, never a test number: a search chooses by it, and test
        numbers belong to the table of complete results."""
        value = result.objective or 0.0
        shown = f"{value:.4f}" if metric.endswith("loss") else f"{100 * value:.2f} %"
        return (
            f"trial {self.number} complete [{self.text(self.config)}]: {metric} {shown} "
            f"at epoch {result.best_epoch}"
        )

    def death(self) -> str:
        code = self.process.exitcode
        how = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"exit code {code}"
        return f"worker process died ({how}) without a result"


def failure_text(kind: ErrorKind, trace: str, *, halve: bool) -> str:
    """The stored error of a failed trial: one line that says what happened, then the trace."""
    text = trace.strip().splitlines()[-1] if trace.strip() else str(kind)
    if kind == ErrorKind.OOM:
        text = "CUDA out of memory" + ("; retrying with the batch halved" if halve else "")
    elif kind == ErrorKind.USAGE:
        text = f"{text.removeprefix('ablate.errors.')} (a problem in the study: not retried)"
    return f"{text}\n\n{trace}"


def pruned_text(epoch: int) -> str:
    return f"pruned after epoch {epoch}"
