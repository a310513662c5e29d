"""Reading back what trials produced, as the types the training loop made them
(``ablate.results``): split scores, their per-class part, epochs. One query per table for a
whole study, no N+1; only complete trials (of the states asked for, for epochs)."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ablate.db._read import study_row
from ablate.db._schema import ClassMetricRow, ConfusionRow, EpochMetricRow, EpochRow, ResultRow
from ablate.db._schema import TrialRow as T
from ablate.results import METRICS, ClassScores, EpochResult, SplitScores, TrialState


def study_scores(engine: Engine, name: str, *, split: str) -> dict[int, SplitScores]:
    """The final scores on ``split`` of every complete trial, by trial id; summary only
    (``classes`` is None: see ``study_class_scores``), which is what a table reads."""
    r = ResultRow
    names = [metric.name for metric in METRICS]
    with Session(engine) as session:
        study = study_row(session, name)
        rows = session.execute(
            select(r.trial_id, r.split, r.epoch, r.n_samples, *(getattr(r, n) for n in names))
            .join(T, T.id == r.trial_id)
            .where(T.study_id == study.id, T.state == TrialState.COMPLETE, r.split == split)
        )
        return {
            trial_id: SplitScores(
                split=split_name, epoch=epoch, n_samples=n, **dict(zip(names, values, strict=True))
            )
            for trial_id, split_name, epoch, n, *values in rows
        }


def study_class_scores(engine: Engine, name: str, *, split: str) -> dict[int, ClassScores]:
    """The per-class part of every complete trial's ``split`` scores, by trial id."""
    c, m = ClassMetricRow, ConfusionRow
    per_class: dict[int, list[tuple[str, float, int]]] = {}
    cells: dict[int, dict[tuple[int, int], int]] = {}
    with Session(engine) as session:
        study = study_row(session, name)
        mine = (T.study_id == study.id, T.state == TrialState.COMPLETE)
        for trial_id, class_name, accuracy, support in session.execute(
            select(c.trial_id, c.class_name, c.accuracy, c.support)
            .join(T, T.id == c.trial_id)
            .where(*mine, c.split == split)
            .order_by(c.trial_id, c.class_index)
        ):
            per_class.setdefault(trial_id, []).append((class_name, accuracy, support))
        for trial_id, true_class, pred_class, count in session.execute(
            select(m.trial_id, m.true_class, m.pred_class, m.count)
            .join(T, T.id == m.trial_id)
            .where(*mine, m.split == split)
        ):
            cells.setdefault(trial_id, {})[(true_class, pred_class)] = count
    out: dict[int, ClassScores] = {}
    for trial_id, classes in per_class.items():
        size = len(classes)
        entries = cells.get(trial_id, {})
        out[trial_id] = ClassScores(
            names=tuple(n for n, _, _ in classes),
            accuracy=tuple(a for _, a, _ in classes),
            support=tuple(s for _, _, s in classes),
            confusion=tuple(
                tuple(entries.get((i, j), 0) for j in range(size)) for i in range(size)
            ),
        )
    return out


def study_epochs(
    engine: Engine, name: str, *, states: tuple[TrialState, ...] = (TrialState.COMPLETE,)
) -> dict[int, list[EpochResult]]:
    """Every epoch (with its extras) of the study's trials in ``states``, by trial id."""
    e, x = EpochRow, EpochMetricRow
    extras: dict[tuple[int, int], dict[str, float]] = {}
    out: dict[int, list[EpochResult]] = {}
    with Session(engine) as session:
        study = study_row(session, name)
        mine = (T.study_id == study.id, T.state.in_([str(s) for s in states]))
        for trial_id, epoch, metric, value in session.execute(
            select(x.trial_id, x.epoch, x.name, x.value).join(T, T.id == x.trial_id).where(*mine)
        ):
            extras.setdefault((trial_id, epoch), {})[metric] = value
        for trial_id, *values in session.execute(
            select(e.trial_id, e.epoch, e.train_loss, e.val_loss, e.val_accuracy, e.lr, e.seconds)
            .join(T, T.id == e.trial_id)
            .where(*mine)
            .order_by(e.trial_id, e.epoch)
        ):
            found = extras.get((trial_id, values[0]), {})
            out.setdefault(trial_id, []).append(EpochResult(*values, extras=found))
    return out
