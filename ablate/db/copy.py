"""Copy studies between results databases (SQLite ⇄ PostgreSQL), ablate rows and Optuna state.

Typical use: move a study that started on a laptop's SQLite file to the lab's PostgreSQL before
scaling out, or bring a cluster study home as one file. Row ids are remapped; the Optuna study
(same name) is copied with ``optuna.copy_study`` and each trial row is pointed at its copy by
trial number. Copy while nothing runs on the source: running trials are copied as running.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, Table, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from ablate.db._engine import ensure_schema, make_engine, redact
from ablate.db._schema import (
    ClassMetricRow,
    ConfusionRow,
    EpochMetricRow,
    EpochRow,
    ResultRow,
    StudyRow,
    TrialRow,
)
from ablate.errors import NotFoundError, StorageError, UsageError

_STUDY: Table = StudyRow.__table__  # type: ignore[assignment]
_TRIAL: Table = TrialRow.__table__  # type: ignore[assignment]
_PER_TRIAL: tuple[Table, ...] = tuple(
    row.__table__  # type: ignore[misc]
    for row in (EpochRow, EpochMetricRow, ResultRow, ClassMetricRow, ConfusionRow)
)
_OPTUNA_TABLE = "studies"


@dataclass(frozen=True)
class CopiedStudy:
    name: str
    trials: int
    rows: dict[str, int] = field(default_factory=dict)  # table name -> rows copied
    optuna_trials: int | None = None  # None: the source had no Optuna study of that name


def copy_study(src_url: str, dst_url: str, study: str | None = None) -> list[CopiedStudy]:
    """Copy ``study`` (default: every study) from ``src_url`` to ``dst_url``.

    Refuses, before writing anything, when a study of the same name exists in the destination.
    """
    if src_url == dst_url:
        raise UsageError(f"--from and --to are the same database ({redact(src_url)}).")
    src = make_engine(src_url, create=False)
    dst = make_engine(dst_url)
    try:
        names = _source_studies(src, src_url, study)
        ensure_schema(dst)
        _refuse_existing(dst, dst_url, names)
        return [_copy_one(src, dst, src_url, dst_url, name) for name in names]
    except SQLAlchemyError as exc:  # e.g. a server that is down or refuses the login
        raise StorageError(
            f"Cannot copy from {redact(src_url)} to {redact(dst_url)}: "
            f"{exc.__class__.__name__}: {redact(str(exc).splitlines()[0])}"
        ) from None
    finally:
        src.dispose()
        dst.dispose()


def _source_studies(src: Engine, src_url: str, study: str | None) -> list[str]:
    if not inspect(src).has_table("ablate_study"):
        raise NotFoundError(f"{redact(src_url)} holds no ablate results (no ablate_study table).")
    with src.connect() as connection:
        names = list(connection.execute(select(_STUDY.c.name).order_by(_STUDY.c.id)).scalars())
    if study is None:
        if not names:
            raise NotFoundError(f"{redact(src_url)} holds no studies to copy.")
        return names
    if study not in names:
        listed = ", ".join(names) or "none"
        raise NotFoundError(
            f"No study '{study}' in {redact(src_url)}; the studies there are: {listed}."
        )
    return [study]


def _refuse_existing(dst: Engine, dst_url: str, names: list[str]) -> None:
    with dst.connect() as connection:
        existing = set(
            connection.execute(select(_STUDY.c.name).where(_STUDY.c.name.in_(names))).scalars()
        )
    existing |= set(names) & _optuna_study_names(dst)
    if existing:
        listed = ", ".join(f"'{n}'" for n in sorted(existing))
        raise UsageError(
            f"Study {listed} already exists in {redact(dst_url)}; nothing was copied. Copy into "
            "another database, or give the study another name in its YAML and run it afresh."
        )


def _optuna_study_names(engine: Engine) -> set[str]:
    if not inspect(engine).has_table(_OPTUNA_TABLE):
        return set()
    with engine.connect() as connection:
        return set(connection.exec_driver_sql("SELECT study_name FROM studies").scalars())


def _copy_one(src: Engine, dst: Engine, src_url: str, dst_url: str, name: str) -> CopiedStudy:
    optuna_ids: dict[int, int] | None = None
    try:
        optuna_ids = _copy_optuna(src, src_url, dst_url, name)
        with src.connect() as source, dst.begin() as target:
            rows = _copy_rows(source, target, name, optuna_ids or {})
    except Exception as exc:
        # _refuse_existing made sure no Optuna study of this name was there before us.
        if name in _optuna_study_names(dst):
            _delete_optuna(dst_url, name)
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise StorageError(
            f"Copying study '{name}' to {redact(dst_url)} failed and was rolled back: "
            f"{exc.__class__.__name__}: {redact(first_line)}"
        ) from None
    trials = rows.pop(_TRIAL.name)
    return CopiedStudy(name, trials, rows, None if optuna_ids is None else len(optuna_ids))


def _copy_rows(
    source: Connection, target: Connection, name: str, optuna_ids: dict[int, int]
) -> dict[str, int]:
    src_columns = {t: _common_columns(source, t) for t in (_STUDY, _TRIAL, *_PER_TRIAL)}
    study = (
        source.execute(select(*src_columns[_STUDY]).where(_STUDY.c.name == name)).one()._asdict()
    )
    old_study_id = study.pop("id")
    new_study_id = target.execute(_STUDY.insert().returning(_STUDY.c.id), study).scalar_one()
    trial_ids: dict[int, int] = {}
    trials = source.execute(
        select(*src_columns[_TRIAL]).where(_TRIAL.c.study_id == old_study_id).order_by(_TRIAL.c.id)
    )
    for trial in trials.mappings():
        values = dict(trial)
        old_id = values.pop("id")
        values["study_id"] = new_study_id
        if values.get("optuna_trial_id") is not None:
            values["optuna_trial_id"] = optuna_ids.get(values["number"])
        trial_ids[old_id] = target.execute(
            _TRIAL.insert().returning(_TRIAL.c.id), values
        ).scalar_one()
    counts = {_TRIAL.name: len(trial_ids)}
    for table in _PER_TRIAL:
        counts[table.name] = _copy_children(source, target, table, src_columns[table], trial_ids)
    return counts


def _copy_children(
    source: Connection, target: Connection, table: Table, columns: list, trial_ids: dict[int, int]
) -> int:
    copied = 0
    for chunk in _chunks(list(trial_ids), 500):
        rows = [
            {**row, "trial_id": trial_ids[row["trial_id"]]}
            for row in source.execute(
                select(*columns).where(table.c.trial_id.in_(chunk))
            ).mappings()
        ]
        if rows:
            target.execute(table.insert(), rows)
            copied += len(rows)
    return copied


def _common_columns(source: Connection, table: Table) -> list:
    # A source made by an older ablate may lack newer columns; they take their defaults.
    present = {c["name"] for c in inspect(source).get_columns(table.name)}
    return [c for c in table.columns if c.name in present]


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _copy_optuna(src: Engine, src_url: str, dst_url: str, name: str) -> dict[int, int] | None:
    """Copy the Optuna study; returns trial number -> destination trial id (None: no study)."""
    if name not in _optuna_study_names(src):
        return None
    import optuna

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "A new study created" lines
    try:
        optuna.copy_study(from_study_name=name, from_storage=src_url, to_storage=dst_url)
        copied = optuna.load_study(study_name=name, storage=dst_url)
        return {t.number: t._trial_id for t in copied.get_trials(deepcopy=False)}
    finally:
        optuna.logging.set_verbosity(verbosity)


def _delete_optuna(dst_url: str, name: str) -> None:
    import optuna

    # Best effort: the original error is the one to report.
    with contextlib.suppress(Exception):
        optuna.delete_study(study_name=name, storage=dst_url)
