"""``ablate gc``: delete resume checkpoints that finished runs no longer need.

A run's checkpoint (``<checkpoint-dir>/<study>/<run_key>.pt``) exists to resume it. Once the
run is complete or pruned it is dead weight (a resnet18 trial's is ~130 MB with the optimiser
state), provided the run's best-validation weights (``<run_key>.best.pt``, kept unless the study
sets ``resources.keep_best_weights: false``) exist: those are never deleted here, and without
them the checkpoint is the run's only trained model and is kept unless asked. Runs that are
running, interrupted, or failed (they may be retried) keep theirs. Temporary files of
checkpoints whose writer died mid-write are deleted too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from ablate._files import pid_alive
from ablate.db import list_studies, study_trials

FINISHED = ("complete", "pruned")


@dataclass(frozen=True)
class Collected:
    path: Path
    study: str
    bytes: int


@dataclass(frozen=True)
class Garbage:
    removed: tuple[Collected, ...]
    kept: tuple[Path, ...]  # checkpoints holding a complete run's only weights (no .best.pt)


def collect_garbage(
    engine: Engine,
    checkpoint_root: Path,
    *,
    study: str | None = None,
    dry_run: bool = False,
    only_weights: bool = False,
) -> Garbage:
    """Delete (or with ``dry_run`` only list) checkpoints of finished runs.

    The checkpoint of a complete run without best-validation weights is the only copy of its
    trained model; it is kept unless ``only_weights`` says to delete those too."""
    names = [study] if study else [s.name for s in list_studies(engine)]
    removed: list[Collected] = []
    kept: list[Path] = []
    for name in names:
        trials = study_trials(engine, name)
        complete = {t.run_key for t in trials if t.state == "complete"}
        finished = {t.run_key for t in trials if t.state in FINISHED}
        unfinished = {t.run_key for t in trials if t.state == "running"}
        removed.extend(_stale_temporaries(checkpoint_root / name, name, dry_run=dry_run))
        for run_key in sorted(finished - unfinished):
            path = checkpoint_root / name / f"{run_key}.pt"
            if not path.exists():
                continue
            best = checkpoint_root / name / f"{run_key}.best.pt"
            if run_key in complete and not best.exists() and not only_weights:
                kept.append(path)
                continue
            size = path.stat().st_size
            if not dry_run:
                path.unlink()
            removed.append(Collected(path=path, study=name, bytes=size))
    return Garbage(tuple(removed), tuple(kept))


def _stale_temporaries(folder: Path, study: str, *, dry_run: bool) -> list[Collected]:
    """Half-written checkpoints (``.<name>.<pid>.tmp``, see ``save_checkpoint``) whose writer
    is gone: what a kill mid-write or a full disk leaves behind. Never resumed from."""
    removed = []
    for tmp in sorted(folder.glob(".*.tmp")) if folder.is_dir() else []:
        pid = tmp.name.rsplit(".", 2)[-2]
        if pid.isdigit() and pid_alive(int(pid)):
            continue  # being written right now
        size = tmp.stat().st_size
        if not dry_run:
            tmp.unlink()
        removed.append(Collected(path=tmp, study=study, bytes=size))
    return removed
