"""``ablate gc``: delete resume checkpoints that finished runs no longer need.

A run's checkpoint (``<checkpoint-dir>/<study>/<run_key>.pt``) exists to resume it. Once the
run is complete or pruned it is dead weight (a resnet18 trial's is ~130 MB with the optimiser
state). Best-validation weights (``<run_key>.best.pt``, kept when the study sets
``resources.keep_best_weights``) are never deleted here. Runs that are running, interrupted,
or failed (they may be retried) keep theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from ablate.db import list_studies, study_trials

FINISHED = ("complete", "pruned")


@dataclass(frozen=True)
class Collected:
    path: Path
    study: str
    bytes: int


def collect_garbage(
    engine: Engine, checkpoint_root: Path, *, study: str | None = None, dry_run: bool = False
) -> list[Collected]:
    """Delete (or with ``dry_run`` only list) checkpoints of finished runs."""
    names = [study] if study else [s.name for s in list_studies(engine)]
    removed: list[Collected] = []
    for name in names:
        trials = study_trials(engine, name)
        finished = {t.run_key for t in trials if t.state in FINISHED}
        unfinished = {t.run_key for t in trials if t.state == "running"}
        for run_key in sorted(finished - unfinished):
            path = checkpoint_root / name / f"{run_key}.pt"
            if not path.exists():
                continue
            size = path.stat().st_size
            if not dry_run:
                path.unlink()
            removed.append(Collected(path=path, study=name, bytes=size))
    return removed
