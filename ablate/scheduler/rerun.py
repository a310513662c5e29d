"""``ablate rerun``: train one stored trial again, from its resolved config and seed, in a
scratch folder, and compare every number it stored with the new ones.

On the CPU, with the stored thread count, a rerun must repeat the stored numbers exactly. On
a GPU (``train.deterministic: true``) the kernels can differ from one card or driver to the
next in the last digits, so floats need only agree within ``GPU_TOLERANCE``; counts (the
confusion matrices, the best epoch) always match exactly. Nothing of the study's database or
checkpoints is written.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ablate.db import get_study, stored_trial, study_trials
from ablate.db._trial_read import StoredTrial
from ablate.errors import UsageError
from ablate.results import EpochResult, SplitScores, TrialResult, TrialState
from ablate.spec import StudySpec, TrialConfig, cell_text, plugin_refs, task_ref, with_code

GPU_TOLERANCE = 1e-4  # relative and absolute, on floats, for a rerun on a GPU
_SHOWN = 5  # differences listed


@dataclass(frozen=True)
class RerunPlan:
    """What will be retrained, and what the rerun should know about it."""

    stored: StoredTrial
    config: TrialConfig
    threads: int
    device: str
    notes: tuple[str, ...]  # e.g. a plugin file changed since the trial ran

    @property
    def label(self) -> str:
        return f"{cell_text({**self.config.cell, **self.config.params})}, seed {self.config.seed}"


@dataclass(frozen=True)
class RerunOutcome:
    identical: bool
    summary: str  # one line
    differences: tuple[str, ...] = ()


def plan_rerun(engine: Engine, study: str, number: int, *, device: str = "cpu") -> RerunPlan:
    """The stored trial ``number`` and how to retrain it; a trial that is not complete is bad
    input (it has no final numbers to compare with)."""
    stored = stored_trial(engine, study, number)
    if stored.state != TrialState.COMPLETE:
        complete = sorted({t.number for t in study_trials(engine, study, states=("complete",))})
        listed = ", ".join(map(str, complete)) if complete else "none yet"
        raise UsageError(
            f"Trial {number} of study '{study}' is {stored.state}, not complete: only a complete "
            f"trial can be rerun. Complete trials: {listed}."
        )
    config = TrialConfig.model_validate(stored.config)
    notes = []
    if stored.threads is None:
        notes.append("the trial's torch thread count was not stored: the rerun uses 1")
    if device != "cpu" and not config.train.deterministic:
        notes.append(
            "the trial did not train with train.deterministic: true, so a GPU rerun may "
            "differ by more than the tolerance"
        )
    return RerunPlan(stored, config, stored.threads or 1, device, tuple(notes))


def rerun_trial(
    engine: Engine,
    study: str,
    plan: RerunPlan,
    *,
    data_root: Path,
    progress: Callable[[str], None] = lambda line: None,
) -> RerunOutcome:
    """Retrain ``plan`` in a temporary folder and compare with what the trial stored."""
    task = _study_code(engine, study, plan.config, progress)
    from ablate.train import NullReporter
    from ablate.train.fit import fit

    report = NullReporter()
    with _threads(plan.threads), tempfile.TemporaryDirectory(prefix="ablate-rerun-") as scratch:
        result = fit(
            plan.config, device=plan.device, data_root=data_root,
            checkpoint_path=Path(scratch) / "rerun.pt", report=report, task=task,
        )  # fmt: skip
    for note in report.notes:
        progress(f"the rerun noted: {note}")
    tolerance = 0.0 if plan.device == "cpu" else GPU_TOLERANCE
    found = compare(plan.stored, result, tuple(report.epochs), tolerance=tolerance)
    if not found:
        within = "" if tolerance == 0 else f" within {tolerance:g}"
        return RerunOutcome(
            True,
            f"identical: {len(plan.stored.epochs)} epochs, best epoch {plan.stored.best_epoch}, "
            f"the val and test scores and confusion matrices match the stored trial's{within}",
        )
    more = f" (and {len(found) - _SHOWN} more)" if len(found) > _SHOWN else ""
    return RerunOutcome(
        False, f"differs: {len(found)} stored number(s) differ{more}", tuple(found[:_SHOWN])
    )


def _study_code(
    engine: Engine, study: str, config: TrialConfig, progress: Callable[[str], None]
) -> Any:
    """The study's plugins imported and its task loaded, as its workers did; says when a file
    changed since the trial ran (the rerun then trains today's code)."""
    from ablate.tasks import load_code

    if not config.code:
        return load_code((), None)
    record = get_study(engine, study)
    spec = StudySpec.model_validate(record.spec)
    now = with_code(spec, base=Path(record.spec_path).resolve().parent, where=record.spec_path)
    for key, fingerprint in config.code.items():
        if now.code.get(key) != fingerprint:
            progress(f"{key} changed since the trial ran: the rerun uses the file as it is now")
    return load_code(plugin_refs(spec, record.spec_path), task_ref(spec, record.spec_path))


@contextmanager
def _threads(threads: int) -> Iterator[None]:
    import torch

    before, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
        torch.use_deterministic_algorithms(deterministic)


# ------------------------------------------------------------------------- comparison
def compare(
    stored: StoredTrial,
    result: TrialResult,
    epochs: tuple[EpochResult, ...],
    *,
    tolerance: float = 0.0,
) -> list[str]:
    """Every stored number that the rerun does not repeat, as 'val accuracy: 0.61 stored,
    0.64 rerun' (in the order: best epoch, objective, val, test, epochs)."""
    found: list[str] = []

    def check(path: str, old: Any, new: Any) -> None:
        if not _same(old, new, tolerance):
            found.append(f"{path}: {old!r} stored, {new!r} rerun")

    check("best epoch", stored.best_epoch, result.best_epoch)
    check("objective", stored.objective, result.objective)
    for split in sorted(stored.scores, key=("val", "test", *stored.scores).index):
        old = stored.scores[split]
        new = {s.split: s for s in result.splits}.get(split)
        if new is None:
            found.append(f"{split} scores: stored, missing from the rerun")
            continue
        for name, old_value, new_value in _split_numbers(old, new):
            check(f"{split} {name}", old_value, new_value)
    if len(stored.epochs) != len(epochs):
        found.append(f"epochs: {len(stored.epochs)} stored, {len(epochs)} rerun")
    for old_epoch, new_epoch in zip(stored.epochs, epochs, strict=False):
        at = f"epoch {old_epoch.epoch}"
        for name in ("train_loss", "val_loss", "val_accuracy", "lr"):
            check(f"{at} {name}", getattr(old_epoch, name), getattr(new_epoch, name))
        for name, value in old_epoch.extras.items():
            check(f"{at} {name}", value, new_epoch.extras.get(name))
    return found


def _split_numbers(old: SplitScores, new: SplitScores) -> Iterator[tuple[str, Any, Any]]:
    for name in ("epoch", "accuracy", "kappa", "macro_f1", "loss", "n_samples"):
        yield name, getattr(old, name), getattr(new, name)
    if old.classes is None:
        return
    if new.classes is None:
        yield "per-class scores", "stored", None
        return
    was, now = old.classes, new.classes
    for index, name in enumerate(was.names):
        yield f"accuracy of class {name}", was.accuracy[index], _at(now.accuracy, index)
        yield f"support of class {name}", was.support[index], _at(now.support, index)
    for i, row in enumerate(was.confusion):
        for j, count in enumerate(row):
            new_row = _at(now.confusion, i) or ()
            yield f"confusion[{i}][{j}]", count, _at(new_row, j)


def _at(values: tuple[Any, ...], index: int) -> Any:
    return values[index] if index < len(values) else None


def _same(old: Any, new: Any, tolerance: float) -> bool:
    if isinstance(old, float) and isinstance(new, float):
        if math.isnan(old) and math.isnan(new):
            return True
        return old == new or math.isclose(old, new, rel_tol=tolerance, abs_tol=tolerance)
    return old == new
