"""What the scheduler hands a worker process: picklable, torch-free."""

from __future__ import annotations

from dataclasses import dataclass, field

from ablate._plugins import CodeRef
from ablate.data._placement import DataPlacement
from ablate.spec import TrialConfig

# The thread-pool sizes a slot sets in its worker's environment (``Slot.env``); the CPU fork
# server sets them to 1 before it imports torch (``ablate.worker._preload``).
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass(frozen=True)
class WorkerTask:
    config: TrialConfig  # the effective, validated config (crosses the pipe once, as it is)
    device: str  # as torch sees it after pinning: "cuda:0" or "cpu"
    data_root: str
    checkpoint_path: str
    log_path: str
    best_path: str | None = None  # where to keep the best-validation weights, if asked
    prunable: bool = True  # False when the study has no pruner: no question per epoch
    fault: str | None = None  # test aid, see ablate.worker._faults
    # The study's plugins (and installed ones), resolved by the scheduler: the worker imports
    # them (once per process) before it builds the model, spawned and forked alike.
    plugins: tuple[CodeRef, ...] = ()
    task_ref: CodeRef | None = None  # the study's own task (None: the built-in URFC task)
    # the study's resources: how the built-in task holds its rows
    placement: DataPlacement = field(default_factory=DataPlacement)
