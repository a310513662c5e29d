"""Worker processes: one per slot; GPU ones spawned with the device pinned before torch loads,
CPU ones forked from a server that imported torch once with the GPUs hidden."""

from ablate.worker._faults import parse_faults
from ablate.worker._main import adopt_slot, worker_main
from ablate.worker._task import THREAD_VARS, WorkerTask

__all__ = ["THREAD_VARS", "WorkerTask", "adopt_slot", "parse_faults", "worker_main"]
