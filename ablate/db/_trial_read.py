"""One trial read back whole: its resolved config, thread count, final scores with their
per-class part, and every epoch (what ``ablate rerun`` compares a rerun with)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ablate.db._read import study_row
from ablate.db._schema import ClassMetricRow, ConfusionRow, EpochMetricRow, EpochRow, ResultRow
from ablate.db._schema import TrialRow as T
from ablate.errors import NotFoundError
from ablate.results import ClassScores, EpochResult, SplitScores, TrialState


@dataclass(frozen=True)
class StoredTrial:
    """One attempt as stored; ``scores`` and ``epochs`` are empty unless it completed."""

    id: int
    number: int
    state: TrialState
    seed: int
    config: dict[str, Any]
    threads: int | None
    device: str
    best_epoch: int | None
    objective: float | None
    scores: dict[str, SplitScores]  # by split: val, test
    epochs: tuple[EpochResult, ...]


def stored_trial(engine: Engine, name: str, number: int) -> StoredTrial:
    """Trial ``number`` of study ``name`` (its complete attempt where it has one, else its
    latest), with its scores and epochs."""
    with Session(engine) as session:
        study = study_row(session, name)
        rows = list(
            session.scalars(
                select(T).where(T.study_id == study.id, T.number == number).order_by(T.id)
            )
        )
        if not rows:
            raise NotFoundError(
                f"Study '{name}' has no trial {number}; 'ablate status --study {name}' lists "
                "its trials."
            )
        row = next((r for r in rows if r.state == TrialState.COMPLETE), rows[-1])
        return StoredTrial(
            id=row.id, number=row.number, state=TrialState(row.state), seed=row.seed,
            config=row.config, threads=row.threads, device=row.device,
            best_epoch=row.best_epoch, objective=row.objective,
            scores=_scores(session, row.id), epochs=_epochs(session, row.id),
        )  # fmt: skip


def _scores(session: Session, trial_id: int) -> dict[str, SplitScores]:
    r, c, m = ResultRow, ClassMetricRow, ConfusionRow
    out: dict[str, SplitScores] = {}
    for split, *numbers in session.execute(
        select(r.split, r.epoch, r.accuracy, r.kappa, r.macro_f1, r.loss, r.n_samples)
        .where(r.trial_id == trial_id)
        .order_by(r.split)
    ):
        classes = list(
            session.execute(
                select(c.class_name, c.accuracy, c.support)
                .where(c.trial_id == trial_id, c.split == split)
                .order_by(c.class_index)
            )
        )
        cells = {
            (t, p): n
            for t, p, n in session.execute(
                select(m.true_class, m.pred_class, m.count).where(
                    m.trial_id == trial_id, m.split == split
                )
            )
        }
        size = len(classes)
        per_class = ClassScores(
            names=tuple(n for n, _, _ in classes),
            accuracy=tuple(a for _, a, _ in classes),
            support=tuple(s for _, _, s in classes),
            confusion=tuple(tuple(cells.get((i, j), 0) for j in range(size)) for i in range(size)),
        )
        out[split] = SplitScores(split, *numbers, classes=per_class if classes else None)
    return out


def _epochs(session: Session, trial_id: int) -> tuple[EpochResult, ...]:
    e, x = EpochRow, EpochMetricRow
    extras: dict[int, dict[str, float]] = {}
    for epoch, metric, value in session.execute(
        select(x.epoch, x.name, x.value).where(x.trial_id == trial_id).order_by(x.name)
    ):
        extras.setdefault(epoch, {})[metric] = value
    return tuple(
        EpochResult(*values, extras=extras.get(values[0], {}))
        for values in session.execute(
            select(e.epoch, e.train_loss, e.val_loss, e.val_accuracy, e.lr, e.seconds)
            .where(e.trial_id == trial_id)
            .order_by(e.epoch)
        )
    )
