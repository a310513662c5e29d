"""The scheduler ↔ worker protocol: one frozen dataclass per message, dispatched with ``match``.

Everything here is picklable and torch-free; results travel as the ``ablate.results`` types
the training loop made, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from ablate._plugins import CodeRef
from ablate.results import EpochResult, ErrorKind, ModelProbe, TrialResult
from ablate.spec import Problem, StudySpec, TrialConfig
from ablate.worker._task import WorkerTask

# --- scheduler → worker ------------------------------------------------------------------


@dataclass(frozen=True)
class RunTrial:
    task: WorkerTask


@dataclass(frozen=True)
class CheckNames:
    """Before training: look up these timm backbone names (name → where the study sets it),
    import the plugins and check every component the study names and its options.

    It carries the study itself rather than its planned configs: each config follows from
    it, and only the study knows where in the file a value was written (a grid factor's
    item, a searched choice), which the message must name."""

    backbones: dict[str, str]
    study: StudySpec | None = None
    plugins: tuple[CodeRef, ...] = ()


@dataclass(frozen=True)
class ProbeModels:
    """Before training, when a time estimate lacks timed epochs: time a few training steps of
    each of these configs' models on this slot's device (``seconds`` each; 0: FLOPs only)."""

    configs: tuple[TrialConfig, ...]
    seconds: float
    device: str


@dataclass(frozen=True)
class PruneAnswer:
    prune: bool


@dataclass(frozen=True)
class Exit:
    """The study is over: end the process."""


# --- worker → scheduler ------------------------------------------------------------------


@dataclass(frozen=True)
class NamesChecked:
    problems: tuple[str, ...]  # one error message per unknown backbone, or a plugin's error
    components: tuple[Problem, ...] = ()  # located: the scheduler adds the file and line


@dataclass(frozen=True)
class ModelsProbed:
    probes: tuple[ModelProbe | None, ...]  # one per config asked (None: not probed)
    problem: str = ""  # why none could be probed (the estimate then goes without)


@dataclass(frozen=True)
class Allocated:
    """The trial's model and data are on its device now (its memory shows in NVML)."""


@dataclass(frozen=True)
class Measured:
    """After the trial's first training batch: its peak memory so far, which is what it
    needs (CUDA: allocated device memory; CPU: the process's peak resident set)."""

    peak_memory_bytes: int | None
    data_path: str  # resident | stream | '' (a task that does not say)


@dataclass(frozen=True)
class EpochDone:
    result: EpochResult
    replayed: bool  # re-sent from a checkpoint after a resume


@dataclass(frozen=True)
class AskPrune:
    epoch: int
    value: float


@dataclass(frozen=True)
class Note:
    text: str  # something the person running the study should see (a damaged checkpoint…)


@dataclass(frozen=True)
class TrialDone:
    result: TrialResult
    device_name: str  # e.g. "NVIDIA H200", or "cpu"


@dataclass(frozen=True)
class TrialFailed:
    kind: ErrorKind
    traceback: str


ToWorker = RunTrial | CheckNames | ProbeModels | PruneAnswer | Exit
FromWorker = (
    NamesChecked
    | ModelsProbed
    | Allocated
    | Measured
    | EpochDone
    | AskPrune
    | Note
    | TrialDone
    | TrialFailed
)
