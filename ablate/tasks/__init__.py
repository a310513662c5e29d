"""Tasks: what a study trains. ``Task`` (data + model, ablate's loop) or a loop of one's own.

``import ablate.tasks`` does not import torch; ``TensorData`` (a ready ``TaskData`` for
in-memory tensors) and the built-in ``URFC`` load it on first use.
"""

from ablate._lazy import lazy_exports
from ablate.tasks._base import SPLITS, Task, TaskData, TrialHandle, UserLoop
from ablate.tasks._load import load_code, load_task, task_of

__all__ = [
    "SPLITS",
    "URFC",
    "Task",
    "TaskData",
    "TensorData",
    "TrialHandle",
    "UserLoop",
    "load_code",
    "load_task",
    "task_of",
]

__getattr__ = lazy_exports(__name__, {"TensorData": "_tensors", "URFC": "urfc"})
