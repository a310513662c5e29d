"""Training: ``fit(config, device=..., report=...) -> TrialResult``, metrics and checkpoints."""

from ablate.train._metrics import confusion_matrix, scores_from_confusion
from ablate.train._report import NullReporter, Reporter

__all__ = ["NullReporter", "Reporter", "confusion_matrix", "scores_from_confusion"]
