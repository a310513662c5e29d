"""The best-so-far of a run, as it lives in memory, in a checkpoint and in the result."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ablate.results import ClassScores, FitStatus, SplitScores, TrialResult


def objective(scores: SplitScores, metric: str) -> float:
    """The validation score a study's objective names (``val_<metric>``, see results.METRICS)."""
    return float(getattr(scores, metric.removeprefix("val_")))


def better(value: float, best: float | None, direction: str) -> bool:
    if best is None:
        return True
    return value > best if direction == "maximize" else value < best


def empty_best() -> dict[str, Any]:
    return {"epoch": 0, "objective": None, "val": None, "test": None}


def best_state(best: dict[str, Any]) -> dict[str, Any]:
    """The best-so-far as plain values for the checkpoint (``torch.load(weights_only=True)``)."""
    return {**best, **{s: asdict(best[s]) if best[s] else None for s in ("val", "test")}}


def best_from_state(state: dict[str, Any], class_names: tuple[str, ...]) -> dict[str, Any]:
    return {
        **state,
        **{s: _scores(state[s], s, state["epoch"], class_names) for s in ("val", "test")},
    }


def _scores(
    state: dict[str, Any] | None, split: str, epoch: int, class_names: tuple[str, ...]
) -> SplitScores | None:
    if state is None:
        return None
    if "classes" not in state:  # a checkpoint written before the one result type
        classes = ClassScores(
            names=class_names,
            accuracy=tuple(state["class_accuracy"]),
            support=tuple(state["class_support"]),
            confusion=tuple(tuple(row) for row in state["confusion"]),
        )
        summary = {k: state[k] for k in ("accuracy", "kappa", "macro_f1", "loss", "n_samples")}
        return SplitScores(split=split, epoch=epoch, classes=classes, **summary)
    classes = state["classes"]
    return SplitScores(
        **{**state, "classes": ClassScores(
            names=tuple(classes["names"]),
            accuracy=tuple(classes["accuracy"]),
            support=tuple(classes["support"]),
            confusion=tuple(tuple(row) for row in classes["confusion"]),
        )}
    )  # fmt: skip


def trial_result(
    status: FitStatus,
    best: dict[str, Any],
    *,
    n_params: int,
    flops: float | None,
    batch_size: int,
    resumed_from: int,
    device: str,
    data_path: str = "",
    peak_memory_bytes: int | None = None,
) -> TrialResult:
    return TrialResult(
        status=status,
        best_epoch=best["epoch"],
        objective=best["objective"],
        val=best["val"],
        test=best["test"],
        n_params=n_params,
        flops=flops,
        batch_size=batch_size,
        resumed_from_epoch=resumed_from,
        device=device,
        data_path=data_path,
        peak_memory_bytes=peak_memory_bytes,
    )
