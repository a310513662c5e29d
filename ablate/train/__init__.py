"""Training: ``fit(config, device=..., report=...) -> FitResult``, metrics and checkpoints."""

from ablate.train._metrics import SplitScores, confusion_matrix, scores_from_confusion
from ablate.train._report import EpochReport, FitResult, NullReporter, Reporter

__all__ = [
    "EpochReport",
    "FitResult",
    "NullReporter",
    "Reporter",
    "SplitScores",
    "confusion_matrix",
    "scores_from_confusion",
]
