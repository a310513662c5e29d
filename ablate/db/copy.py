"""Copy studies between results databases (SQLite ⇄ PostgreSQL), ablate rows and Optuna state.

Typical use: move a study that started on a laptop's SQLite file to the lab's PostgreSQL before
scaling out, or bring a cluster study home as one file, again and again. Copying into a database
that already holds the study merges: trials the destination lacks are added (with their epochs,
results and confusion rows, and their Optuna trials), trials still running there are refreshed
from the source, and nothing is copied twice. A trial is recognised by what does not change
while it runs: ablate's (run_key, attempt, host, pid, started_at), Optuna's datetime_start. A
trial finished in the destination is never changed.

Each study is one transaction on the destination, Optuna's rows included (they are written as
SQL, not through Optuna's storage, so that a failure rolls both back). Row ids are remapped.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, inspect, select, update
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
from ablate.db.admin import OptunaTables, optuna_tables
from ablate.errors import NotFoundError, StorageError, UsageError

_STUDY: Table = StudyRow.__table__  # type: ignore[assignment]
_TRIAL: Table = TrialRow.__table__  # type: ignore[assignment]
_PER_TRIAL: tuple[Table, ...] = tuple(
    row.__table__  # type: ignore[misc]
    for row in (EpochRow, EpochMetricRow, ResultRow, ClassMetricRow, ConfusionRow)
)
_TRIAL_IDENTITY = ("run_key", "attempt", "host", "pid", "started_at")
_LIVE = ("running", "complete")  # at most one of these per run (uq_ablate_trial_live_run)
_SPEC_COLUMNS = ("description", "kind", "spec_text", "spec_json", "spec_path", "updated_at")


@dataclass(frozen=True)
class CopiedStudy:
    name: str
    trials: int  # trials added to the destination
    rows: dict[str, int] = field(default_factory=dict)  # table name -> rows copied
    optuna_trials: int | None = None  # Optuna trials added; None: no Optuna study in the source
    updated: int = 0  # trials that were running in the destination, refreshed from the source
    merged: bool = False  # the destination held the study already
    skipped: int = 0  # trials whose run is running or complete in the destination as another


def copy_study(src_url: str, dst_url: str, study: str | None = None) -> list[CopiedStudy]:
    """Copy or merge ``study`` (default: every study) from ``src_url`` into ``dst_url``.

    Refuses, before writing anything, when the destination holds another study of that name.
    """
    if src_url == dst_url:
        raise UsageError(f"--from and --to are the same database ({redact(src_url)}).")
    src = make_engine(src_url, create=False)
    dst = make_engine(dst_url)
    try:
        names = _source_studies(src, src_url, study)
        ensure_schema(dst)
        _refuse_other_studies(src, dst, dst_url, names)
        if _has_optuna(src, names):
            _ensure_optuna_schema(dst, dst_url)
        return [_copy_one(src, dst, dst_url, name) for name in names]
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


def _refuse_other_studies(src: Engine, dst: Engine, dst_url: str, names: list[str]) -> None:
    """A study of the same name is merged only if it is a copy of this one (same creation)."""
    with src.connect() as source, dst.connect() as target:
        made = dict(source.execute(select(_STUDY.c.name, _STUDY.c.created_at)).all())
        theirs = dict(
            target.execute(
                select(_STUDY.c.name, _STUDY.c.created_at).where(_STUDY.c.name.in_(names))
            ).all()
        )
        optuna_only = set(names) & _optuna_study_names(target) - set(theirs)
    for name in names:
        if name in theirs and theirs[name] != made[name]:
            raise UsageError(
                f"Study '{name}' in {redact(dst_url)} is another study of that name (created "
                f"{theirs[name]:%Y-%m-%d %H:%M:%S}, the source's {made[name]:%Y-%m-%d %H:%M:%S}); "
                "nothing was copied. Rename one of them with 'ablate db rename', or copy into "
                "another database."
            )
        if name in optuna_only:
            raise UsageError(
                f"{redact(dst_url)} has an Optuna study '{name}' without ablate results; nothing "
                f"was copied. Delete it there with 'ablate db rm --study {name}', or copy into "
                "another database."
            )


def _optuna_study_names(connection: Connection) -> set[str]:
    if not inspect(connection).has_table("studies"):
        return set()
    return set(connection.exec_driver_sql("SELECT study_name FROM studies").scalars())


def _has_optuna(src: Engine, names: list[str]) -> bool:
    with src.connect() as connection:
        return bool(set(names) & _optuna_study_names(connection))


def _ensure_optuna_schema(dst: Engine, dst_url: str) -> None:
    with dst.connect() as connection:
        if optuna_tables(connection) is not None:
            return
    import optuna

    optuna.storages.RDBStorage(dst_url).engine.dispose()  # creates Optuna's (empty) tables


def _copy_one(src: Engine, dst: Engine, dst_url: str, name: str) -> CopiedStudy:
    try:
        with src.connect() as source, dst.begin() as target:
            duplicates = _duplicates(source, target, name)
            optuna_ids, optuna_added = _merge_optuna(
                source, target, name, skip={i for i in duplicates.values() if i is not None}
            )
            merged = _copy_rows(source, target, name, optuna_ids, skip=set(duplicates))
    except Exception as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise StorageError(
            f"Copying study '{name}' to {redact(dst_url)} failed and was rolled back: "
            f"{exc.__class__.__name__}: {redact(first_line)}"
        ) from None
    return CopiedStudy(
        name,
        merged.added,
        merged.rows,
        optuna_added,
        merged.updated,
        merged.existed,
        skipped=len(duplicates),
    )


# -- ablate's rows ---------------------------------------------------------------------------


@dataclass
class _Merged:
    existed: bool
    added: int = 0
    updated: int = 0
    rows: dict[str, int] = field(default_factory=dict)


def _duplicates(source: Connection, target: Connection, name: str) -> dict[int, int | None]:
    """Source trials (id → Optuna trial id) whose run is running or complete in the destination
    as another trial: taking them would hold the run twice (the claim index forbids it)."""
    study_id = target.execute(select(_STUDY.c.id).where(_STUDY.c.name == name)).scalar()
    if study_id is None:
        return {}
    theirs = target.execute(
        select(_TRIAL.c.state, *(_TRIAL.c[c] for c in _TRIAL_IDENTITY)).where(
            _TRIAL.c.study_id == study_id
        )
    ).all()
    known = {tuple(row[1:]) for row in theirs}
    live = {row.run_key for row in theirs if row.state in _LIVE}
    mine = source.execute(
        select(_TRIAL.c.id, _TRIAL.c.optuna_trial_id, *(_TRIAL.c[c] for c in _TRIAL_IDENTITY))
        .join(_STUDY, _STUDY.c.id == _TRIAL.c.study_id)
        .where(_STUDY.c.name == name, _TRIAL.c.state.in_(_LIVE))
    ).all()
    return {
        row.id: row.optuna_trial_id
        for row in mine
        if row.run_key in live and tuple(row[2:]) not in known
    }


def _copy_rows(
    source: Connection,
    target: Connection,
    name: str,
    optuna_ids: Mapping[int, tuple[int, int]],
    *,
    skip: Collection[int] = (),
) -> _Merged:
    """Merge the study's ablate rows; ``optuna_ids``: source Optuna trial id → (id, number)."""
    columns = {t: _common_columns(source, t) for t in (_STUDY, _TRIAL, *_PER_TRIAL)}
    study = source.execute(select(*columns[_STUDY]).where(_STUDY.c.name == name)).one()._asdict()
    old_study_id = study.pop("id")
    existing = target.execute(select(_STUDY).where(_STUDY.c.name == name)).first()
    if existing is None:
        study_id = target.execute(_STUDY.insert().returning(_STUDY.c.id), study).scalar_one()
    else:
        study_id = existing.id
        if study["updated_at"] > existing.updated_at:  # the source ran since: its spec is newer
            spec = {c: study[c] for c in _SPEC_COLUMNS if c in study}
            target.execute(update(_STUDY).where(_STUDY.c.id == study_id).values(**spec))
    theirs = {
        tuple(row[c] for c in _TRIAL_IDENTITY): row
        for row in target.execute(select(_TRIAL).where(_TRIAL.c.study_id == study_id)).mappings()
    }
    added: dict[int, int] = {}  # source trial id -> destination trial id, children to copy
    merged = _Merged(existed=existing is not None)
    trials = source.execute(
        select(*columns[_TRIAL]).where(_TRIAL.c.study_id == old_study_id).order_by(_TRIAL.c.id)
    )
    for trial in trials.mappings():
        values = dict(trial)
        old_id = values.pop("id")
        if old_id in skip:
            continue
        values["study_id"] = study_id
        if values.get("optuna_trial_id") is not None:
            linked = optuna_ids.get(values["optuna_trial_id"])
            values["optuna_trial_id"] = None if linked is None else linked[0]
            values["number"] = values["number"] if linked is None else linked[1]
        mine = theirs.get(tuple(values[c] for c in _TRIAL_IDENTITY))
        if mine is None:
            added[old_id] = target.execute(
                _TRIAL.insert().returning(_TRIAL.c.id), values
            ).scalar_one()
            merged.added += 1
        elif mine["state"] == "running" and any(mine[c] != v for c, v in values.items()):
            target.execute(update(_TRIAL).where(_TRIAL.c.id == mine["id"]).values(**values))
            for table in _PER_TRIAL:
                target.execute(delete(table).where(table.c.trial_id == mine["id"]))
            added[old_id] = mine["id"]
            merged.updated += 1
    for table in _PER_TRIAL:
        merged.rows[table.name] = _copy_children(source, target, table, columns[table], added)
    return merged


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


# -- Optuna's rows ---------------------------------------------------------------------------


def _merge_optuna(
    source: Connection, target: Connection, name: str, *, skip: Collection[int]
) -> tuple[dict[int, tuple[int, int]], int | None]:
    """Merge the Optuna study (but the ``skip`` trial ids): source trial id → destination
    (trial id, number), and the number of trials added."""
    src_tables = optuna_tables(source)
    if src_tables is None:
        return {}, None
    src_study = source.execute(
        select(src_tables.studies).where(src_tables.studies.c.study_name == name)
    ).first()
    if src_study is None:
        return {}, None
    dst_tables = optuna_tables(target)
    assert dst_tables is not None  # copy_study created them
    pairs = _pairs(src_tables, dst_tables)
    study_id = target.execute(
        select(dst_tables.studies.c.study_id).where(dst_tables.studies.c.study_name == name)
    ).scalar()
    if study_id is None:
        study_id = target.execute(
            dst_tables.studies.insert().returning(dst_tables.studies.c.study_id),
            {"study_name": name},
        ).scalar_one()
    for src_table, dst_table in pairs["study"]:
        _sync_children(
            source, target, src_table, dst_table, "study_id", {src_study.study_id: study_id}
        )
    return _merge_optuna_trials(source, target, src_tables, dst_tables, pairs["trial"],
                                src_study.study_id, study_id, skip)  # fmt: skip


def _merge_optuna_trials(
    source: Connection,
    target: Connection,
    src_tables: OptunaTables,
    dst_tables: OptunaTables,
    children: list[tuple[Table, Table]],
    src_study_id: int,
    dst_study_id: int,
    skip: Collection[int],
) -> tuple[dict[int, tuple[int, int]], int]:
    src_trials, dst_trials = src_tables.trials, dst_tables.trials
    copied = [c for c in _shared(src_trials, dst_trials) if c not in ("trial_id", "study_id")]
    theirs = {
        _optuna_identity(row): row
        for row in target.execute(
            select(dst_trials).where(dst_trials.c.study_id == dst_study_id)
        ).mappings()
    }
    next_number = len(theirs)  # Optuna numbers a study's trials 0, 1, … in id order
    ids: dict[int, tuple[int, int]] = {}
    refresh: dict[int, int] = {}  # source trial id -> destination trial id, children to sync
    added = 0
    rows = source.execute(
        select(src_trials)
        .where(src_trials.c.study_id == src_study_id)
        .order_by(src_trials.c.number, src_trials.c.trial_id)
    )
    for row in rows.mappings():
        if row["trial_id"] in skip:
            continue
        values = {c: row[c] for c in copied}
        mine = theirs.get(_optuna_identity(row))
        if mine is None:
            values.update(study_id=dst_study_id, number=next_number)
            new_id = target.execute(
                dst_trials.insert().returning(dst_trials.c.trial_id), values
            ).scalar_one()
            ids[row["trial_id"]] = (new_id, next_number)
            refresh[row["trial_id"]] = new_id
            next_number, added = next_number + 1, added + 1
            continue
        ids[row["trial_id"]] = (mine["trial_id"], mine["number"])
        if mine["state"] != "RUNNING":  # finished trials are final in Optuna
            continue
        values.pop("number", None)
        if any(mine[c] != v for c, v in values.items()):
            target.execute(
                update(dst_trials).where(dst_trials.c.trial_id == mine["trial_id"]).values(values)
            )
        refresh[row["trial_id"]] = mine["trial_id"]
    for src_table, dst_table in children:
        _sync_children(source, target, src_table, dst_table, "trial_id", refresh)
    return ids, added


def _optuna_identity(row: Mapping[str, Any]) -> tuple[Any, ...]:
    # datetime_start is set when a trial starts and never changes; a waiting trial has none.
    start = row["datetime_start"]
    return ("start", start) if start is not None else ("number", row["number"])


def _pairs(src: OptunaTables, dst: OptunaTables) -> dict[str, list[tuple[Table, Table]]]:
    dst_study = {t.name: t for t in dst.study_children}
    dst_trial = {t.name: t for t in dst.trial_children}
    return {
        "study": [(t, dst_study[t.name]) for t in src.study_children if t.name in dst_study],
        "trial": [(t, dst_trial[t.name]) for t in src.trial_children if t.name in dst_trial],
    }


def _shared(src: Table, dst: Table) -> list[str]:
    return [c.name for c in src.columns if c.name in dst.c]


def _sync_children(
    source: Connection,
    target: Connection,
    src_table: Table,
    dst_table: Table,
    key: str,
    ids: Mapping[int, int],
) -> None:
    """Make the destination's rows under each of ``ids``' values equal the source's rows under
    its key; surrogate ids are left to the destination, and rows already equal stay as they are.
    """
    pk = [c.name for c in dst_table.primary_key.columns]
    columns = [c for c in _shared(src_table, dst_table) if not (pk == [c] and c != key)]
    for chunk in _chunks(list(ids), 500):
        wanted = _grouped(source, src_table, columns, key, chunk)
        have = _grouped(target, dst_table, columns, key, [ids[i] for i in chunk])
        stale = [i for i in chunk if _as_set(wanted.get(i, [])) != _as_set(have.get(ids[i], []))]
        if not stale:
            continue
        target.execute(delete(dst_table).where(dst_table.c[key].in_([ids[i] for i in stale])))
        rows = [{**row, key: ids[i]} for i in stale for row in wanted.get(i, [])]
        if rows:
            target.execute(dst_table.insert(), rows)


def _grouped(
    connection: Connection, table: Table, columns: list[str], key: str, values: list[int]
) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    query = select(*(table.c[c] for c in columns)).where(table.c[key].in_(values))
    for row in connection.execute(query).mappings():
        grouped.setdefault(row[key], []).append(dict(row))
    return grouped


def _as_set(rows: Iterable[Mapping[str, Any]]) -> set[tuple[Any, ...]]:
    return {tuple(sorted((k, repr(v)) for k, v in row.items())) for row in rows}
