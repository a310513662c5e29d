"""Classification metrics from a confusion matrix (numpy only, exact and cheap)."""

from __future__ import annotations

import numpy as np

from ablate.results import ClassScores, SplitScores


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    flat = labels.astype(np.int64) * num_classes + predictions.astype(np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def scores_from_confusion(
    matrix: np.ndarray, *, loss: float, split: str, epoch: int, class_names: tuple[str, ...]
) -> SplitScores:
    """Accuracy, Cohen's kappa, macro-F1 (over classes present in labels or predictions)."""
    matrix = matrix.astype(np.int64)
    total = int(matrix.sum())
    diagonal = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    accuracy = float(diagonal.sum() / total) if total else 0.0
    expected = float((support * predicted).sum()) / (total * total) if total else 0.0
    kappa = (accuracy - expected) / (1.0 - expected) if expected < 1.0 else 0.0
    present = (support + predicted) > 0
    denominator = (support + predicted).astype(np.float64)
    f1 = np.divide(2 * diagonal, denominator, out=np.zeros_like(diagonal), where=denominator > 0)
    macro_f1 = float(f1[present].mean()) if present.any() else 0.0
    class_accuracy = np.divide(diagonal, support, out=np.zeros_like(diagonal), where=support > 0)
    return SplitScores(
        split=split,
        epoch=epoch,
        accuracy=accuracy,
        kappa=float(kappa),
        macro_f1=macro_f1,
        loss=float(loss),
        n_samples=total,
        classes=ClassScores(
            names=tuple(class_names),
            accuracy=tuple(float(x) for x in class_accuracy),
            support=tuple(int(x) for x in support),
            confusion=tuple(tuple(int(x) for x in row) for row in matrix),
        ),
    )
