"""What a task gives ablate, at two levels (standard library only: no torch at import).

**A task** (``class Digits(Task)``) provides the data and the model; ablate keeps the rest:
devices, the loop, checkpoints, resume, pruning, metrics, confusion matrices, tables, decks.
The built-in URFC trainer is a task on this interface (``ablate.tasks.urfc``): one path.

**A user loop** (a function ``train(config, trial)``) keeps its own loop and talks to ablate
through a ``TrialHandle``: it reports epochs, asks about pruning and stopping, saves and
restores its state, and hands over its final predictions per split; ablate computes the
scores and confusion matrices from them and stores everything as for a task.

Type hints name torch types as strings so that this module (and ``ablate.spec``, the
preflight, ``ablate table``) never imports torch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch

    from ablate.spec import TrialConfig

SPLITS = ("train", "val", "test")


@runtime_checkable
class TaskData(Protocol):
    """A task's train/val/test data, resident where the task put it.

    ``batches`` yields tuples whose last element is the targets (int64 class indices) and
    whose other elements are the model's inputs (``model(*inputs)``). The "train" order (and
    any augmentation) must depend on ``(seed, epoch)`` alone, and "val"/"test" (``epoch``
    None) keep one fixed order: that is what makes a resumed run equal an uninterrupted one.
    The loop uses each batch before it asks for the next, so a task may reuse the memory of
    one batch for the next. ``ablate.tasks.TensorData`` does all this for in-memory tensors.
    Data that may also say how it holds its rows gives a ``data_path`` attribute
    ('resident' or 'stream'); each trial records it.
    """

    @property
    def class_names(self) -> tuple[str, ...]:
        """The names of the classes, in label order: the data names its classes, and their
        number is ``len(class_names)`` (nothing in ablate fixes it)."""
        ...

    def num_samples(self, split: str) -> int: ...

    def batches(
        self, split: str, *, batch_size: int, epoch: int | None, seed: int
    ) -> Iterable[tuple[torch.Tensor, ...]]: ...


class Task(ABC):
    """Subclass it and name it in the study (``task: tasks/digits.py:Digits``).

    ``load`` must read only the settings that shape the data (``config.data``): a worker
    keeps the loaded data for the next trial with the same task and data section.
    The model's output is its logits (batch × classes), or an object with ``.logits`` and
    optionally ``.stats`` (a mapping of name → scalar, averaged per epoch into the extras).
    """

    @abstractmethod
    def load(self, config: TrialConfig, *, device: torch.device, data_root: Path) -> TaskData:
        """The data on ``device`` (``data_root``: where ablate keeps prepared data)."""

    @abstractmethod
    def build_model(
        self, config: TrialConfig, *, num_classes: int, device: torch.device
    ) -> torch.nn.Module:
        """The model, initialised from the global RNGs (ablate has seeded them)."""

    def loss(
        self, output: Any, targets: torch.Tensor, config: TrialConfig
    ) -> torch.Tensor | tuple[torch.Tensor, Mapping[str, torch.Tensor]]:
        """The training loss, or (loss, {term: value}) to log each term per epoch.
        By default cross-entropy of the logits with ``config.loss.label_smoothing``."""
        import torch.nn.functional as F

        logits = output.logits if hasattr(output, "logits") else output
        return F.cross_entropy(
            logits.float(), targets, label_smoothing=config.loss.label_smoothing
        )

    def forward(
        self, model: torch.nn.Module, inputs: Sequence[torch.Tensor], config: TrialConfig, *,
        training: bool,
    ) -> Any:  # fmt: skip
        """One forward pass (``model(*inputs)``); URFC changes the memory format here."""
        return model(*inputs)

    def flops(self, model: torch.nn.Module, config: TrialConfig) -> float | None:
        """Forward FLOPs per sample, if the task can count them (informative only)."""
        return None


class TrialHandle(Protocol):
    """What a user loop's ``train(config, trial)`` is given (``ablate.train`` implements it)."""

    @property
    def device(self) -> str:
        """The device this trial was given (``"cuda:0"``, ``"cpu"``): train there."""
        ...

    @property
    def data_root(self) -> Path: ...

    def report_epoch(
        self, epoch: int, *, train_loss: float, val_loss: float, val_accuracy: float,
        lr: float = 0.0, extras: Mapping[str, float] | None = None,
    ) -> None:  # fmt: skip
        """An epoch (1-based) finished; stored like a built-in epoch."""

    def should_prune(self, epoch: int, value: float) -> bool:
        """Whether the pruner stops this trial after ``epoch``; if so, return from train."""
        ...

    def should_stop(self) -> bool:
        """True once the study is being stopped (Ctrl-C): save if you like and return."""
        ...

    def save(self, state: Mapping[str, Any]) -> None:
        """Keep ``state`` (tensors, numbers, strings, lists, dicts) with the epochs reported
        so far and every RNG's state, atomically; ``restore`` gives it back after a crash."""

    def restore(self) -> dict[str, Any] | None:
        """The last saved state of this run (its RNGs restored too), or None at the start."""
        ...

    def predictions(
        self, split: str, y_true: Sequence[int] | Any, y_pred: Sequence[int] | Any, *,
        class_names: Sequence[str], epoch: int | None = None, loss: float = float("nan"),
    ) -> None:  # fmt: skip
        """The final predictions on "val" and "test" (at the epoch they come from, by
        default the last reported); ablate computes accuracy, kappa, macro-F1, per-class
        scores and the confusion matrix from them."""


@runtime_checkable
class UserLoop(Protocol):
    """A loop of one's own: any callable ``train(config, trial) -> None``."""

    def __call__(self, config: TrialConfig, trial: TrialHandle) -> None: ...


__all__ = ["SPLITS", "Task", "TaskData", "TrialHandle", "UserLoop"]
