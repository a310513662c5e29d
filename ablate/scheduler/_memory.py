"""A trial's memory need on its device: the data it holds, plus its model, optimiser and
activations at its batch size, measured by the cell's earlier trials (pure: no database, no
device; the device pool places trials by it).

The data part is counted from the cache's manifest (``ablate.data._memory``): every train
(after ``train_limit``), val and test row when the trial holds them resident, a few batches
when it streams. The model part is never guessed: it is a peak an earlier trial of the same
cell measured (its ``peak_memory_bytes`` less the data it held), scaled to this trial's batch
size. A cell nothing has measured yet has no model part; the pool then gives its first trial
a conservative share of a GPU, and the trial's own measurement replaces that reservation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ablate.data._memory import ROW_BYTES, STREAM_BATCHES, residency_bytes
from ablate.data._placement import DataPath, DataPlacement, Requested, choose_data_path

if TYPE_CHECKING:
    from ablate.db import PeakMemory

MIB = 1024**2
GIB = 1024**3
# What NVML sees of a trial beyond torch's allocated peak: the CUDA context, cuBLAS/cuDNN
# workspaces, and the caching allocator's reserved-but-unallocated blocks.
CUDA_CONTEXT_BYTES = 512 * MIB
ALLOCATOR_SLACK = 0.10
# Per parameter, what does not grow with the batch: fp32 weights, gradients, Adam's moments.
PARAM_STATE_BYTES = 16

Placement = Requested


def size_text(nbytes: int) -> str:
    """'7.2 GiB', or '310 MiB' under a GiB."""
    return f"{nbytes / GIB:.1f} GiB" if nbytes >= GIB else f"{nbytes / MIB:.0f} MiB"


@dataclass(frozen=True)
class Need:
    """The bytes one trial will hold on its device at its peak."""

    data_path: DataPath
    data_bytes: int  # 0 where the study's own task loads its own data (inside the model part)
    model_bytes: int | None  # model, optimiser, activations, overheads; None: not measured yet
    measured_trials: int  # the trials the model part comes from
    data_counted: bool = True

    @property
    def total_bytes(self) -> int | None:
        return None if self.model_bytes is None else self.data_bytes + self.model_bytes

    def text(self) -> str:
        """'7.2 GiB: data 4.1 GiB resident + model 3.1 GiB (measured from 2 trials)'."""
        data = (
            f"data {size_text(self.data_bytes)} {self.data_path}"
            if self.data_counted
            else "data: the task's own, in its measured peak"
        )
        if self.model_bytes is None:
            return f"{data} + model: not measured yet"
        trials = f"{self.measured_trials} trial{'s' * (self.measured_trials != 1)}"
        return (
            f"{size_text(self.total_bytes or 0)}: {data} + model {size_text(self.model_bytes)} "
            f"(measured from {trials})"
        )


def data_bytes(
    manifest: Mapping[str, Any] | None, *, train_limit: int | None, batch_size: int, path: str
) -> int:
    """What the trial's rows take on its device by ``path`` ('' when not recorded: nothing
    is subtracted from a measured peak, which errs on the large side)."""
    if manifest is None or path not in ("resident", "stream"):
        return 0
    resident = residency_bytes(manifest, train_limit)
    if path == "resident":
        return resident
    return min(resident, STREAM_BATCHES * batch_size * ROW_BYTES)


def scaled(model_bytes: int, *, measured_batch: int, batch_size: int, n_params: int | None) -> int:
    """A measured model part moved to another batch size: the parameters' state stays, the
    activations scale with the batch. Without a parameter count, a smaller batch keeps the
    measured bytes and a larger one scales them all (both err on the large side)."""
    if batch_size == measured_batch:
        return model_bytes
    if not n_params:
        if batch_size < measured_batch:
            return model_bytes
        return math.ceil(model_bytes * batch_size / measured_batch)
    fixed = min(model_bytes, n_params * PARAM_STATE_BYTES)
    return fixed + math.ceil((model_bytes - fixed) * batch_size / measured_batch)


def measured_model(
    peaks: Sequence[PeakMemory],
    *,
    manifest: Mapping[str, Any] | None,
    train_limit: int | None,
    batch_size: int,
    on_gpu: bool,
) -> tuple[int | None, int]:
    """The model part at ``batch_size`` from one cell's peaks (measured on the same kind of
    device), and how many trials it comes from: the batch size measured nearest to this one,
    the largest of its peaks less the data each held."""
    mine = [p for p in peaks if p.on_gpu == on_gpu]
    if not mine:
        return None, 0
    nearest = min(
        {p.batch_size for p in mine},
        key=lambda b: (abs(math.log(b / batch_size)), -b),  # a tie: the larger, to be safe
    )
    chosen = [p for p in mine if p.batch_size == nearest]
    model = max(
        max(0, p.max_bytes - data_bytes(manifest, train_limit=train_limit, batch_size=nearest,
                                        path=p.data_path))
        for p in chosen
    )  # fmt: skip
    n_params = max((p.n_params for p in chosen if p.n_params), default=None)
    model = scaled(model, measured_batch=nearest, batch_size=batch_size, n_params=n_params)
    if on_gpu:
        model = math.ceil(model * (1 + ALLOCATOR_SLACK)) + CUDA_CONTEXT_BYTES
    return model, sum(p.trials for p in chosen)


def choose_path(
    placement: Placement,
    *,
    on_gpu: bool,
    resident_bytes: int,
    cap_bytes: int | None,
    largest_bytes: int | None,
) -> DataPath:
    """Where the trial's rows will live: the loader's own decision (``choose_data_path``),
    asked with the largest GPU's memory for the free memory the trial will find there."""
    decision = choose_data_path(
        DataPlacement(requested=placement, gpu_cap_bytes=cap_bytes),
        device_kind="cuda" if on_gpu else "cpu",
        rows_bytes=resident_bytes,
        device_free_bytes=largest_bytes,
    )
    return decision.path


def trial_need(
    peaks: Sequence[PeakMemory],
    *,
    manifest: Mapping[str, Any] | None,
    train_limit: int | None,
    batch_size: int,
    placement: Placement = "auto",
    on_gpu: bool = True,
    cap_bytes: int | None = None,
    largest_bytes: int | None = None,
    floor_bytes: int = 0,
) -> Need:
    """The need of a trial of the cell whose peaks these are (``manifest`` None: the study's
    own task, whose data is part of what its trials measured). ``floor_bytes`` stands in for
    an unmeasured model part when choosing the data path."""
    model, trials = measured_model(
        peaks, manifest=manifest, train_limit=train_limit, batch_size=batch_size, on_gpu=on_gpu
    )
    resident = data_bytes(manifest, train_limit=train_limit, batch_size=batch_size,
                          path="resident")  # fmt: skip
    path = choose_path(
        placement,
        on_gpu=on_gpu,
        resident_bytes=resident + (floor_bytes if model is None else model),
        cap_bytes=cap_bytes,
        largest_bytes=largest_bytes,
    )
    held = data_bytes(manifest, train_limit=train_limit, batch_size=batch_size, path=path)
    return Need(path, held, model, trials, data_counted=manifest is not None)
