"""A trial's measured peak memory: what it really needs, for the device pool and the record.

On a GPU it is ``torch.cuda.max_memory_allocated`` since the trial started (its rows if
resident, model, optimiser, activations). On a CPU it is the worker process's peak resident
set (``VmHWM``, reset per trial through ``/proc/self/clear_refs``): exact and free to read,
but it counts in full the pages of the memory-mapped cache the trial touched, which every
slot shares through the page cache (PSS would split them, at the price of sampling).
"""

from __future__ import annotations

import contextlib
import resource
import sys
from pathlib import Path

import torch

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def reset_peak_memory(device: torch.device) -> None:
    """Start counting this trial's peak now (the data it already holds counts in)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    # Linux ≥ 4.0: the high water mark drops to the RSS now; elsewhere the process's peak
    # since it started stands in.
    with contextlib.suppress(OSError):
        _CLEAR_REFS.write_text("5")


def peak_memory_bytes(device: torch.device) -> int | None:
    """The peak since ``reset_peak_memory`` (or since the process started); None if unknown."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024) or None
