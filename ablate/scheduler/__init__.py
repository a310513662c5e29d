"""Scheduling trials onto devices: GPU/CPU slots, spawned workers, resume, Slurm array jobs.

The scheduler is the only writer of the results database and the only user of Optuna.
"""

from ablate.scheduler._progress import RunSummary, SlotView, Snapshot
from ablate.scheduler._runner import RunOptions, StudyRunner, run_study
from ablate.scheduler.devices import DevicePool, Slot
from ablate.scheduler.status import StudyStatus, TrialStatus, study_status

__all__ = [
    "DevicePool",
    "RunOptions",
    "RunSummary",
    "Slot",
    "SlotView",
    "Snapshot",
    "StudyRunner",
    "StudyStatus",
    "TrialStatus",
    "run_study",
    "study_status",
]
