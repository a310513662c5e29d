"""Worker processes: one per running trial, spawned, device pinned before torch loads."""

from ablate.worker._faults import parse_faults
from ablate.worker._main import worker_main
from ablate.worker._task import WorkerTask

__all__ = ["WorkerTask", "parse_faults", "worker_main"]
