"""A loop of the user's own (``train(config, trial)``), stored as ablate stores its own.

The handle turns the loop's calls into what ``fit`` produces: epochs go to the reporter as
they are reported, ``save`` writes one atomic checkpoint holding the user's state, the epochs
so far and every RNG, and the final predictions become ``SplitScores`` through the same
metric code as the built-in loop. After a crash the epochs saved with the last state are
replayed and ``restore`` hands that state back with the RNGs as they were, so a loop that
restores what it saved continues exactly as if it had never stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ablate.errors import UsageError
from ablate.results import EpochResult, FitStatus, SplitScores, TrialResult
from ablate.spec import TrialConfig
from ablate.tasks import UserLoop
from ablate.train._memory import peak_memory_bytes
from ablate.train._metrics import confusion_matrix, scores_from_confusion
from ablate.train._report import Reporter
from ablate.train._state import objective, trial_result
from ablate.train.checkpoint import (
    DamagedCheckpoint,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)


class Handle:
    """The ``TrialHandle`` a user loop is given (see ``ablate.tasks.TrialHandle``)."""

    def __init__(
        self, config: TrialConfig, *, device: str, data_root: Path,
        checkpoint_path: Path | None, report: Reporter,
    ) -> None:  # fmt: skip
        self.config, self._device, self._data_root = config, device, data_root
        self._path, self._report = checkpoint_path, report
        self.history: list[dict[str, Any]] = []
        self.splits: dict[str, SplitScores] = {}
        self.pruned = self.stopped = False
        self.resumed_from = 0
        self._since = time.perf_counter()  # an epoch's seconds: since the last report
        self._saved: dict[str, Any] | None = self._load()

    @property
    def device(self) -> str:
        return self._device

    @property
    def data_root(self) -> Path:
        return self._data_root

    def _load(self) -> dict[str, Any] | None:
        try:
            saved = load_checkpoint(self._path) if self._path else None
        except DamagedCheckpoint as damaged:
            self._report.note(f"{damaged}; the trial starts again from epoch 1")
            return None
        if saved is None or saved.get("run_key") != self.config.run_key:
            return None
        self.history = list(saved["history"])
        for item in self.history:
            self._report.epoch(EpochResult(**item), replayed=True)
        self.resumed_from = self.history[-1]["epoch"] if self.history else 0
        return saved

    def report_epoch(
        self, epoch: int, *, train_loss: float, val_loss: float, val_accuracy: float,
        lr: float = 0.0, extras: Mapping[str, float] | None = None,
    ) -> None:  # fmt: skip
        result = EpochResult(
            epoch=int(epoch), train_loss=float(train_loss), val_loss=float(val_loss),
            val_accuracy=float(val_accuracy), lr=float(lr),
            seconds=time.perf_counter() - self._since,
            extras={k: float(v) for k, v in (extras or {}).items()},
        )  # fmt: skip
        # An epoch retrained after a crash replaces its earlier report (the writer does too).
        self.history = [h for h in self.history if h["epoch"] != result.epoch]
        self.history.append(asdict(result))
        self._report.epoch(result, replayed=False)
        self._since = time.perf_counter()

    def should_prune(self, epoch: int, value: float) -> bool:
        if epoch >= self.config.train.epochs:
            return False  # the last epoch: nothing left to save by pruning
        self.pruned = self._report.should_prune(epoch, float(value))
        return self.pruned

    def should_stop(self) -> bool:
        self.stopped = self.stopped or self._report.should_stop()
        return self.stopped

    def save(self, state: Mapping[str, Any]) -> None:
        if self._path is None:
            return
        payload = {
            "run_key": self.config.run_key, "config": self.config.model_dump(mode="json"),
            "kind": "user_loop", "state": dict(state), "history": self.history,
            "rng": rng_state(), "threads": torch.get_num_threads(),
        }  # fmt: skip
        save_checkpoint(self._path, payload)

    def restore(self) -> dict[str, Any] | None:
        if self._saved is None:
            return None
        set_rng_state(self._saved["rng"])
        if self._saved.get("threads") not in (None, torch.get_num_threads()):
            from ablate.train.fit import note_threads

            note_threads(self._report, self._saved["threads"])
        return self._saved["state"]

    def predictions(
        self, split: str, y_true: Sequence[int] | Any, y_pred: Sequence[int] | Any, *,
        class_names: Sequence[str], epoch: int | None = None, loss: float = math.nan,
    ) -> None:  # fmt: skip
        if split not in ("val", "test"):
            raise UsageError(f"trial.predictions takes split 'val' or 'test', not {split!r}.")
        names = tuple(str(n) for n in class_names)
        truth, predicted = _labels(y_true), _labels(y_pred)
        if len(truth) != len(predicted):
            raise UsageError(
                f"trial.predictions('{split}'): {len(truth)} true labels but "
                f"{len(predicted)} predictions; give one prediction per sample."
            )
        top = max(int(truth.max(initial=0)), int(predicted.max(initial=0)))
        if top >= len(names) or min(truth.min(initial=0), predicted.min(initial=0)) < 0:
            raise UsageError(
                f"trial.predictions('{split}'): labels must be 0…{len(names) - 1} for the "
                f"{len(names)} class_names given, found {top}."
            )
        at = epoch if epoch is not None else (self.history[-1]["epoch"] if self.history else 0)
        matrix = confusion_matrix(truth, predicted, len(names))
        self.splits[split] = scores_from_confusion(
            matrix, loss=loss, split=split, epoch=int(at), class_names=names
        )


def _labels(values: Sequence[int] | Any) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.int64).reshape(-1)


def fit_user_loop(
    loop: UserLoop, config: TrialConfig, *, device: str, data_root: Path,
    checkpoint_path: Path | None, report: Reporter,
) -> TrialResult:  # fmt: skip
    """Run ``loop(config, trial)`` and turn what it told the handle into a ``TrialResult``."""
    from ablate.train.fit import seed_everything

    seed_everything(config.seed)
    handle = Handle(
        config, device=device, data_root=data_root, checkpoint_path=checkpoint_path,
        report=report,
    )  # fmt: skip
    loop(config, handle)
    status = (
        FitStatus.STOPPED if handle.stopped
        else FitStatus.PRUNED if handle.pruned
        else FitStatus.COMPLETE
    )  # fmt: skip
    val, test = handle.splits.get("val"), handle.splits.get("test")
    if status is FitStatus.COMPLETE and (val is None or test is None):
        missing = " and ".join(s for s in ("val", "test") if s not in handle.splits)
        raise UsageError(
            f"Task {config.task} returned without its final {missing} predictions; call "
            "trial.predictions('val', y_true, y_pred, class_names=...) and the same for "
            "'test' before train() returns."
        )
    value = objective(val, config.objective.metric) if val is not None else None
    best = {"epoch": val.epoch if val else 0, "objective": value, "val": val, "test": test}
    return trial_result(
        status, best, n_params=0, flops=None, batch_size=config.train.batch_size,
        resumed_from=handle.resumed_from, device=device,
        peak_memory_bytes=peak_memory_bytes(torch.device(device)),
    )  # fmt: skip
