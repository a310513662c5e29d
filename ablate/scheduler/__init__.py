"""Scheduling trials onto devices: GPU/CPU slots, spawned workers, resume, Slurm array jobs.

The scheduler is the only writer of the results database and the only user of Optuna.

Names are imported on first use, so that ``ablate run`` can start the workers
(``ablate.scheduler.devices``, ``ablate.scheduler._workers``) before it pays for importing
Optuna and SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ablate._lazy import lazy_exports

_HOMES = {
    "RunSummary": "_progress",
    "SlotView": "_progress",
    "Snapshot": "_progress",
    "RunOptions": "_runner",
    "StudyRunner": "_runner",
    "run_study": "_runner",
    "DevicePool": "devices",
    "Slot": "devices",
    "Workers": "_workers",
    "StudyStatus": "status",
    "TrialStatus": "status",
    "study_status": "status",
}

if TYPE_CHECKING:
    from ablate.scheduler._progress import RunSummary, SlotView, Snapshot
    from ablate.scheduler._runner import RunOptions, StudyRunner, run_study
    from ablate.scheduler._workers import Workers
    from ablate.scheduler.devices import DevicePool, Slot
    from ablate.scheduler.status import StudyStatus, TrialStatus, study_status


__getattr__ = lazy_exports(__name__, _HOMES)

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
    "Workers",
    "run_study",
    "study_status",
]
