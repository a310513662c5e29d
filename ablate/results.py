"""What a trial produces, as one set of frozen types from where it is made to where it is shown.

The training loop makes them, the pipe to the scheduler carries them as they are, the writer
stores them and the reader returns them (Optuna's ``FrozenTrial`` is the model). Standard
library only, so that every layer may use them: adding a metric is a field here plus its
column in ``ablate.db``. States and error kinds are enums, never compared as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class TrialState(StrEnum):
    """The state of one attempt at one run (the values are what the database stores)."""

    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"
    PRUNED = "pruned"
    INTERRUPTED = "interrupted"


class ErrorKind(StrEnum):
    """Why a failed attempt failed; retries decide on it, never on message text."""

    NONE = ""
    EXCEPTION = "exception"  # the training code raised: retried up to max_retries
    OOM = "oom"  # out of device memory: retried, with the batch halved if the study says so
    USAGE = "usage"  # the study asks for something impossible (a usage error): never retried
    DIED = "died"  # the worker process died without a result (segfault, kill): retried


class FitStatus(StrEnum):
    """How a training run ended."""

    COMPLETE = "complete"
    PRUNED = "pruned"
    STOPPED = "stopped"  # the user asked the study to stop (Ctrl-C)


@dataclass(frozen=True)
class Metric:
    """A summary metric of a split: a field of ``SplitScores`` and a column of its table."""

    name: str
    title: str
    percent: bool  # shown ×100 in tables (fractions are stored)
    higher_is_better: bool


# The one list of summary metrics: the training loop computes each (train/_metrics.py), the
# database stores each in the column of that name, tables, exports and objectives read them
# from here. Adding one: a field below, its computation, its column (and a migration).
METRICS: tuple[Metric, ...] = (
    Metric("accuracy", "Accuracy", percent=True, higher_is_better=True),
    Metric("kappa", "Kappa", percent=True, higher_is_better=True),
    Metric("macro_f1", "Macro-F1", percent=True, higher_is_better=True),
    Metric("loss", "Loss", percent=False, higher_is_better=False),
)


@dataclass(frozen=True)
class ClassScores:
    """Per-class numbers of one split: recall and support per class, the confusion matrix."""

    names: tuple[str, ...]
    accuracy: tuple[float, ...]  # recall of each class
    support: tuple[int, ...]
    confusion: tuple[tuple[int, ...], ...]  # rows: true class, columns: predicted class


@dataclass(frozen=True)
class SplitScores:
    """The metrics of one split at one epoch (the best-validation one, for final results).

    ``classes`` is None only where a reader was asked for the summary alone (a table of a
    5,000-trial study does not read 400,000 confusion cells)."""

    split: str  # train | val | test
    epoch: int
    accuracy: float
    kappa: float
    macro_f1: float
    loss: float
    n_samples: int
    classes: ClassScores | None = None


@dataclass(frozen=True)
class EpochResult:
    """One finished epoch: the numbers every study stores, and the extras (loss terms, the
    validation kappa and F1, a fusion's statistics such as CEN's exchanged fraction)."""

    epoch: int  # 1-based
    train_loss: float
    val_loss: float
    val_accuracy: float
    lr: float
    seconds: float
    extras: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TrialResult:
    """How a training run ended and its final metrics, taken at the best-validation epoch."""

    status: FitStatus
    best_epoch: int
    objective: float | None
    val: SplitScores | None
    test: SplitScores | None
    n_params: int
    flops: float | None
    batch_size: int
    resumed_from_epoch: int
    device: str
    data_path: str = ""  # resident | stream ('' where the task does not say)
    # CUDA: the trial's peak allocated device memory; CPU: the worker's peak resident set
    peak_memory_bytes: int | None = None

    @property
    def splits(self) -> tuple[SplitScores, ...]:
        return tuple(s for s in (self.val, self.test) if s is not None)


@dataclass(frozen=True)
class ModelProbe:
    """A trial's model timed for a few steps on a device, before any epoch of it is timed (a
    time estimate's last resort), with its forward FLOPs per sample (None: not counted)."""

    steps: int  # training steps timed, after one warm-up step (0: FLOPs only)
    step_s: float  # mean seconds of a training step at the trial's batch size
    eval_sample_s: float  # evaluation (forward only) seconds per sample
    flops: float | None
