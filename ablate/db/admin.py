"""Deleting and renaming a study: ablate's rows and the Optuna study of the same name.

Both sides live in one database, so each change is one transaction over both: a failure leaves
the database as it was. Optuna's tables are reflected rather than imported from Optuna's private
models: every table that points at ``studies`` or ``trials`` is found by its foreign key, so a
newer Optuna that adds one is still cleaned up.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, MetaData, Table, delete, func, inspect, select, update
from sqlalchemy.exc import SQLAlchemyError

from ablate.db._engine import make_engine, redact
from ablate.db._schema import StudyRow, TrialRow
from ablate.errors import NotFoundError, StorageError, UsageError
from ablate.spec._study import NAME_PATTERN

_STUDY: Table = StudyRow.__table__  # type: ignore[assignment]
_TRIAL: Table = TrialRow.__table__  # type: ignore[assignment]
OPTUNA_STUDIES = "studies"


@dataclass(frozen=True)
class StudyFootprint:
    """What a study holds in one database (before a delete, or after a rename)."""

    name: str
    in_ablate: bool  # False: only an Optuna study of that name
    trials: int
    running: int
    optuna_trials: int | None  # None: no Optuna study of that name


@dataclass(frozen=True)
class OptunaTables:
    studies: Table
    trials: Table
    study_children: tuple[Table, ...]  # point at studies.study_id (directions, attributes)
    trial_children: tuple[Table, ...]  # point at trials.trial_id (params, values, ...)


def optuna_tables(connection: Connection) -> OptunaTables | None:
    """Optuna's tables in this database, reflected; None when it holds no Optuna storage."""
    names = set(inspect(connection).get_table_names())
    if not {OPTUNA_STUDIES, "trials"} <= names:
        return None
    metadata = MetaData()
    metadata.reflect(bind=connection, only=sorted(n for n in names if not n.startswith("ablate_")))
    studies, trials = metadata.tables[OPTUNA_STUDIES], metadata.tables["trials"]

    def pointing_at(target: Table) -> tuple[Table, ...]:
        return tuple(
            t
            for t in metadata.sorted_tables
            if t is not trials and any(fk.column.table is target for fk in t.foreign_keys)
        )

    return OptunaTables(studies, trials, pointing_at(studies), pointing_at(trials))


def study_footprint(url: str, name: str) -> StudyFootprint:
    """What ``name`` holds in ``url``; NotFoundError (listing the studies there) if nothing."""
    engine = make_engine(url, create=False)
    try:
        with engine.connect() as connection:
            return _footprint(connection, url, name)
    except SQLAlchemyError as exc:
        raise _storage_error(url, exc) from None
    finally:
        engine.dispose()


def delete_study(url: str, name: str) -> StudyFootprint:
    """Delete study ``name`` (ablate's rows and the Optuna study); returns what was deleted."""
    engine = make_engine(url, create=False)
    try:
        with engine.begin() as connection:
            found = _footprint(connection, url, name)
            _delete_ablate(connection, name)
            tables = optuna_tables(connection)
            if tables is not None:
                delete_optuna_study(connection, tables, name)
        return found
    except SQLAlchemyError as exc:
        raise _storage_error(url, exc) from None
    finally:
        engine.dispose()


def check_rename(url: str, old: str, new: str) -> StudyFootprint:
    """What ``rename_study`` would rename; raises what it would raise, changing nothing."""
    engine = make_engine(url, create=False)
    try:
        with engine.connect() as connection:
            return _check_rename(connection, url, old, new)
    except SQLAlchemyError as exc:
        raise _storage_error(url, exc) from None
    finally:
        engine.dispose()


def rename_study(url: str, old: str, new: str) -> StudyFootprint:
    """Rename study ``old`` to ``new`` on both sides; refuses a name that is taken."""
    engine = make_engine(url, create=False)
    try:
        with engine.begin() as connection:
            _check_rename(connection, url, old, new)
            if _has_ablate(connection):
                row = connection.execute(
                    select(_STUDY.c.id, _STUDY.c.spec_json).where(_STUDY.c.name == old)
                ).first()
                if row is not None:
                    # The validated spec names its study; the YAML as written stays as written.
                    spec = {**row.spec_json, "name": new}
                    connection.execute(
                        update(_STUDY)
                        .where(_STUDY.c.id == row.id)
                        .values(name=new, spec_json=spec)
                    )
            tables = optuna_tables(connection)
            if tables is not None:
                connection.execute(
                    update(tables.studies)
                    .where(tables.studies.c.study_name == old)
                    .values(study_name=new)
                )
            return _footprint(connection, url, new)
    except SQLAlchemyError as exc:
        raise _storage_error(url, exc) from None
    finally:
        engine.dispose()


def _check_rename(connection: Connection, url: str, old: str, new: str) -> StudyFootprint:
    if not NAME_PATTERN.match(new):
        raise UsageError(
            f"New study name '{new}' must be 1-64 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit."
        )
    found = _footprint(connection, url, old)
    if new in _names(connection):
        raise UsageError(
            f"A study '{new}' already exists in {redact(url)}; nothing was renamed. "
            f"Pick another name, or delete that one first with 'ablate db rm --study {new}'."
        )
    return found


def delete_optuna_study(connection: Connection, tables: OptunaTables, name: str) -> int | None:
    """Delete the Optuna study ``name`` inside the caller's transaction; returns its trials."""
    study_id = connection.execute(
        select(tables.studies.c.study_id).where(tables.studies.c.study_name == name)
    ).scalar()
    if study_id is None:
        return None
    trial_ids = select(tables.trials.c.trial_id).where(tables.trials.c.study_id == study_id)
    for table in tables.trial_children:
        connection.execute(delete(table).where(table.c.trial_id.in_(trial_ids)))
    n_trials = connection.execute(
        delete(tables.trials).where(tables.trials.c.study_id == study_id)
    ).rowcount
    for table in tables.study_children:
        connection.execute(delete(table).where(table.c.study_id == study_id))
    connection.execute(delete(tables.studies).where(tables.studies.c.study_id == study_id))
    return n_trials


def _delete_ablate(connection: Connection, name: str) -> None:
    if not _has_ablate(connection):
        return
    study_ids = select(_STUDY.c.id).where(_STUDY.c.name == name)
    trial_ids = select(_TRIAL.c.id).where(_TRIAL.c.study_id.in_(study_ids))
    # Every table pointing at ablate_trial, found by its foreign key (newer ones included).
    for table in _STUDY.metadata.sorted_tables:
        if any(fk.column.table is _TRIAL for fk in table.foreign_keys):
            connection.execute(delete(table).where(table.c.trial_id.in_(trial_ids)))
    connection.execute(delete(_TRIAL).where(_TRIAL.c.study_id.in_(study_ids)))
    for table in _STUDY.metadata.sorted_tables:  # the others pointing at the study, if made
        points = any(fk.column.table is _STUDY for fk in table.foreign_keys)
        if table is not _TRIAL and points and inspect(connection).has_table(table.name):
            connection.execute(delete(table).where(table.c.study_id.in_(study_ids)))
    connection.execute(delete(_STUDY).where(_STUDY.c.name == name))


def _footprint(connection: Connection, url: str, name: str) -> StudyFootprint:
    in_ablate, trials, running = False, 0, 0
    if _has_ablate(connection):
        study_id = connection.execute(select(_STUDY.c.id).where(_STUDY.c.name == name)).scalar()
        if study_id is not None:
            in_ablate = True
            states = connection.execute(
                select(_TRIAL.c.state, func.count())
                .where(_TRIAL.c.study_id == study_id)
                .group_by(_TRIAL.c.state)
            ).all()
            trials = sum(n for _, n in states)
            running = sum(n for state, n in states if state == "running")
    optuna_trials = _optuna_trial_count(connection, name)
    if not in_ablate and optuna_trials is None:
        listed = ", ".join(sorted(_names(connection))) or "none"
        raise NotFoundError(
            f"No study '{name}' in {redact(url)}; the studies there are: {listed}."
        )
    return StudyFootprint(name, in_ablate, trials, running, optuna_trials)


def _optuna_trial_count(connection: Connection, name: str) -> int | None:
    tables = optuna_tables(connection)
    if tables is None:
        return None
    study_id = connection.execute(
        select(tables.studies.c.study_id).where(tables.studies.c.study_name == name)
    ).scalar()
    if study_id is None:
        return None
    return connection.execute(
        select(func.count()).where(tables.trials.c.study_id == study_id)
    ).scalar_one()


def _names(connection: Connection) -> set[str]:
    names: set[str] = set()
    if _has_ablate(connection):
        names |= set(connection.execute(select(_STUDY.c.name)).scalars())
    if inspect(connection).has_table(OPTUNA_STUDIES):
        names |= set(connection.exec_driver_sql("SELECT study_name FROM studies").scalars())
    return names


def _has_ablate(connection: Connection) -> bool:
    return inspect(connection).has_table(_STUDY.name)


def _storage_error(url: str, exc: SQLAlchemyError) -> StorageError:
    first_line = str(exc).splitlines()[0] if str(exc) else ""
    return StorageError(
        f"Cannot change {redact(url)}; nothing was changed: "
        f"{exc.__class__.__name__}: {redact(first_line)}"
    )


__all__ = [
    "OptunaTables",
    "StudyFootprint",
    "check_rename",
    "delete_optuna_study",
    "delete_study",
    "optuna_tables",
    "rename_study",
    "study_footprint",
]
