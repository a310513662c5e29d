"""What ``ablate check`` watches inside a training run: its epochs, where it is asked to stop,
and a fingerprint of the state it trains from at the start of the first resumed epoch.

The fingerprint is taken through hooks every torch training loop passes through (the
reporter's ``should_stop`` before each batch, the first module call, the first optimiser
step), so it needs nothing from the loop itself: an uninterrupted and a resumed run that
start that epoch from different states say which part differs.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import numpy as np
import torch

from ablate.results import EpochResult

# What each part of the fingerprint is, as the diagnosis names it (in the order it is shown).
PARTS = {
    "weights": "the model weights",
    "optimiser": "the optimiser state",
    "rng.torch": "torch's RNG state",
    "rng.numpy": "numpy's RNG state",
    "rng.python": "Python's RNG state",
    "batch": "the first batch",
}


def _digest(*values: Any) -> str:
    sha = hashlib.sha256()
    for value in values:
        if isinstance(value, torch.Tensor):
            flat = value.detach().cpu().contiguous().flatten()
            sha.update(str((flat.dtype, tuple(value.shape))).encode())
            sha.update(flat.view(torch.uint8).numpy().tobytes())
        elif isinstance(value, np.ndarray):
            sha.update(value.tobytes())
        elif isinstance(value, (tuple, list)):
            sha.update(_digest(*value).encode())
        elif isinstance(value, dict):
            sha.update(_digest(*sorted(value.items(), key=lambda item: str(item[0]))).encode())
        else:
            sha.update(repr(value).encode())
    return sha.hexdigest()


class StateProbe:
    """The state a run trains from when it starts epoch ``epoch``: the RNGs when its first
    batch is asked for, the batch at the first module call, weights and optimiser state at the
    first optimiser step."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch
        self.parts: dict[str, str] = {}
        self._stage = "idle"

    def epoch_done(self, epoch: int) -> None:
        if epoch == self.epoch - 1 and self._stage == "idle":
            self._stage = "rng"

    def batch_asked(self) -> None:
        if self._stage == "rng":
            self.parts["rng.torch"] = _digest(torch.get_rng_state())
            self.parts["rng.numpy"] = _digest(*np.random.get_state())
            self.parts["rng.python"] = _digest(random.getstate())
            self._stage = "batch"

    def _module_called(self, module: torch.nn.Module, args: tuple[Any, ...]) -> None:
        if self._stage == "batch":  # the outermost module is called first
            self.parts["batch"] = _digest(*args)
            self._stage = "step"

    def _optimiser_step(self, optimizer: torch.optim.Optimizer, *_: Any) -> None:
        if self._stage == "step":
            params = [p for group in optimizer.param_groups for p in group["params"]]
            self.parts["weights"] = _digest(*params)
            self.parts["optimiser"] = _digest(*(optimizer.state.get(p, {}) for p in params))
            self._stage = "done"

    @contextmanager
    def watching(self) -> Iterator[StateProbe]:
        from torch.nn.modules.module import register_module_forward_pre_hook
        from torch.optim.optimizer import register_optimizer_step_pre_hook

        handles = [
            register_module_forward_pre_hook(self._module_called),
            register_optimizer_step_pre_hook(self._optimiser_step),
        ]
        try:
            yield self
        finally:
            for handle in handles:
                handle.remove()


class CheckReporter:
    """A ``Reporter`` that keeps every epoch and, with ``stop_in``, asks the run to stop
    halfway through that epoch (after its previous epoch's checkpoint is written)."""

    def __init__(self, *, probe: StateProbe | None = None, stop_in: int | None = None) -> None:
        self.trained: list[EpochResult] = []
        self.replayed: list[EpochResult] = []
        self.notes: list[str] = []
        self.stopped_after_batches: int | None = None
        self.probe, self._stop_in = probe, stop_in
        self._last_epoch, self._asked, self._batches_per_epoch = 0, 0, 0

    def watching(self) -> AbstractContextManager[Any]:
        """Hooks for the probe while the run trains (nothing without one)."""
        return self.probe.watching() if self.probe is not None else nullcontext()

    @property
    def epochs(self) -> list[EpochResult]:
        return [*self.replayed, *self.trained]

    def epoch(self, report: EpochResult, *, replayed: bool) -> None:
        (self.replayed if replayed else self.trained).append(report)
        if not replayed and not self._batches_per_epoch:
            self._batches_per_epoch = self._asked
        self._last_epoch, self._asked = report.epoch, 0
        if self.probe is not None:
            self.probe.epoch_done(report.epoch)

    def should_prune(self, epoch: int, value: float) -> bool:
        return False

    def should_stop(self) -> bool:
        self._asked += 1
        if self.probe is not None:
            self.probe.batch_asked()
        if self._stop_in is None or self._last_epoch != self._stop_in - 1:
            return False
        if self._asked < self._batches_per_epoch // 2 + 1:
            return False
        self.stopped_after_batches = self._asked - 1
        return True

    def note(self, text: str) -> None:
        self.notes.append(text)

    def measured(self, peak_memory_bytes: int | None, data_path: str) -> None:
        pass  # the check compares numbers, not memory
