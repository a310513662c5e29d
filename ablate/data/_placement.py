"""Where a trial keeps its rows: resident on its device, or streamed from the memory map.

The choice never changes what a run computes (both paths give the same batches, bit for bit
on the CPU), only the memory it takes, so it lives in ``resources`` and not in the run key.
``choose_data_path`` is the whole decision, a pure function of numbers the worker knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GIB = 1024**3
# Room a resident trial on a GPU leaves beside its rows for the model, optimiser and
# activations, until the trial's own need has been measured.
DEVICE_MARGIN_BYTES = 1 * GIB

DataPath = Literal["resident", "stream"]
Requested = Literal["auto", "resident", "stream"]


@dataclass(frozen=True)
class DataPlacement:
    """What the study asks (``resources.data_placement`` and its caps, in bytes)."""

    requested: Requested = "auto"
    gpu_cap_bytes: int | None = None  # resources.gpu_memory_gb: the most one trial may take
    host_cap_bytes: int | None = None  # resources.host_memory_gb: resident on a CPU slot


@dataclass(frozen=True)
class Decision:
    path: DataPath
    reason: str  # one clause for the trial's log: why this path
    overridden: bool = False  # 'resident' was asked for but does not fit


def _gb(nbytes: int) -> str:
    return f"{nbytes / GIB:.3g} GB"


def choose_data_path(
    placement: DataPlacement,
    *,
    device_kind: Literal["cpu", "cuda"],
    rows_bytes: int,
    device_free_bytes: int | None = None,
) -> Decision:
    """The data path of one trial whose rows take ``rows_bytes`` resident.

    On a CPU slot ``auto`` streams: the page cache holds the one copy every slot shares. On a
    GPU ``auto`` and ``resident`` keep the rows on the device when they and a margin for the
    model fit its free memory and ``gpu_memory_gb``; ``resident`` on a CPU slot must fit
    ``host_memory_gb``. What does not fit streams instead of failing."""
    if placement.requested == "stream":
        return Decision("stream", "resources.data_placement is 'stream'")
    if device_kind == "cpu":
        if placement.requested == "auto":
            return Decision(
                "stream", "a CPU slot reads the memory-mapped cache (shared page cache)"
            )
        cap = placement.host_cap_bytes
        if cap is not None and rows_bytes > cap:
            return Decision(
                "stream",
                f"the rows take {_gb(rows_bytes)}, over resources.host_memory_gb "
                f"({_gb(cap)}): streaming instead of 'resident'",
                overridden=True,
            )
        return Decision("resident", "resources.data_placement is 'resident'")
    need = rows_bytes + DEVICE_MARGIN_BYTES
    limits = []
    if placement.gpu_cap_bytes is not None:
        limits.append((placement.gpu_cap_bytes, "resources.gpu_memory_gb"))
    if device_free_bytes is not None:
        limits.append((device_free_bytes, "the GPU's free memory"))
    for limit, name in limits:
        if need > limit:
            return Decision(
                "stream",
                f"the rows take {_gb(rows_bytes)} (+{_gb(DEVICE_MARGIN_BYTES)} for the model), "
                f"over {name} ({_gb(limit)}): streaming"
                + (" instead of 'resident'" if placement.requested == "resident" else ""),
                overridden=placement.requested == "resident",
            )
    return Decision("resident", f"the rows ({_gb(rows_bytes)}) fit on the device")
