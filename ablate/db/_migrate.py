"""Schema migrations of ablate's own tables (Alembic, run programmatically).

``upgrade`` is what ``ensure_schema`` and ``ablate db upgrade`` call. Revisions must be
additive (new tables, new nullable or defaulted columns, new indexes) so that an older ablate
still running against the same database keeps working; such revisions are applied
automatically. A revision that is not additive sets ``AUTO_UPGRADE = False`` in its module,
and then only an explicit ``ablate db upgrade`` (after stopping every run) applies it.

A database made before migrations existed (ablate tables, no version table) is stamped at
revision 0001 first. Writing a new revision::

    python -c "from alembic import command; from ablate.db._migrate import alembic_config; \
command.revision(alembic_config(), message='add x', rev_id='0002')"
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from ablate.db._fs import check_sqlite_location
from ablate.db._url import redact, sqlite_path
from ablate.errors import StorageError

if TYPE_CHECKING:
    from alembic.config import Config

HEAD = "0005"  # tests check this against the newest file in migrations/versions
VERSION_TABLE = "ablate_alembic_version"
FIRST_REVISION = "0001"
_MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 0x61626C61  # "abla": serialises concurrent upgrades on PostgreSQL
_THREAD_LOCK = threading.Lock()  # alembic's `context`/`op` proxies are process-global


@dataclass(frozen=True)
class Upgrade:
    before: str | None  # None: a new, empty database
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def upgrade_database(engine: Engine, *, explicit: bool = True) -> Upgrade:
    """Refuse a SQLite file on a network file system, then ``upgrade``: what ``ensure_schema``
    (``explicit=False``: additive revisions only) and ``ablate db upgrade`` (every pending
    revision) call. A database error becomes one ``StorageError`` naming the database."""
    url = engine.url.render_as_string(hide_password=False)
    path = sqlite_path(url)
    if path is not None:
        check_sqlite_location(path)
    try:
        return upgrade(engine, explicit=explicit)
    except SQLAlchemyError as exc:
        verb = "upgrade" if explicit else "prepare"
        raise StorageError(
            f"Cannot {verb} the results database {redact(url)}: {exc.__class__.__name__}: "
            f"{redact(str(exc).splitlines()[0])}"
        ) from None


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` for ablate's migrations; no alembic.ini needed."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def current_revision(connection: Connection) -> str | None:
    """The revision recorded in the database, or None when it has no version table."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def upgrade(engine: Engine, *, explicit: bool = False) -> Upgrade:
    """Bring ablate's tables to the newest revision; safe to call from several processes."""
    with _THREAD_LOCK, _sqlite_file_lock(engine):
        return _upgrade(engine, explicit=explicit)


@contextmanager
def database_lock(engine: Engine) -> Iterator[None]:
    """Serialise one-time set-up (e.g. Optuna creating its tables) across processes and hosts.

    PostgreSQL: a session advisory lock on its own connection; SQLite: a flock on the file.
    """
    with _THREAD_LOCK, _sqlite_file_lock(engine):
        if engine.dialect.name != "postgresql":
            yield
            return
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY + 1})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY + 1}
                )
                connection.commit()


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """Hold an exclusive flock on ``<database>.lock`` while migrating or setting up.

    pysqlite autocommits DDL, so without it a second process sees half-made tables. The lock
    is a file of its own: opening and closing the database file itself would drop every POSIX
    lock this process's SQLite connections hold on it (closing *any* descriptor of a file does
    that), after which another process closing its connection believes it is the last one and
    checkpoints and deletes the WAL under us. The database file is only ever opened by SQLite.
    """
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    import fcntl

    lock_path = Path(f"{database}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _upgrade(engine: Engine, *, explicit: bool) -> Upgrade:
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        before = current_revision(connection)
        if before == HEAD:
            return Upgrade(before, HEAD)
        from alembic import command

        config = alembic_config(connection)
        if before is None and inspect(connection).has_table("ablate_study"):
            command.stamp(config, FIRST_REVISION)  # made by ablate before migrations existed
            before = FIRST_REVISION
        _check_pending(config, before, explicit=explicit)
        command.upgrade(config, "head")
        _record_schema_version(connection)
        return Upgrade(before, current_revision(connection) or HEAD)


def _record_schema_version(connection: Connection) -> None:
    # The ablate_meta row predates migrations; readers of schema_version() still use it.
    from ablate.db._schema import SCHEMA_VERSION, MetaRow

    table = MetaRow.__table__
    key = table.c.key == "schema_version"
    if connection.execute(table.select().where(key)).first() is None:
        connection.execute(table.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))


def _check_pending(config: Config, before: str | None, *, explicit: bool) -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(config)
    try:
        pending = list(scripts.iterate_revisions("heads", before or "base"))
    except Exception:  # alembic's ResolutionError / CommandError: a revision it does not have
        raise StorageError(
            f"The results database is at schema revision {before}, which this version of "
            f"ablate does not know (newest: {HEAD}); upgrade ablate on this machine."
        ) from None
    manual = [s.revision for s in pending if not getattr(s.module, "AUTO_UPGRADE", True)]
    if manual and not explicit:
        raise StorageError(
            f"The results database needs schema revision(s) {', '.join(sorted(manual))}, which "
            "are not applied automatically; stop every run on it, then run "
            "'ablate db upgrade --storage URL'."
        )


def schema_drift(engine: Engine) -> list[str]:
    """Differences between the migrated database and ``_schema.py`` (empty when in sync)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from ablate.db._schema import Base

    def include(obj, name, type_, reflected, compare_to) -> bool:
        return type_ != "table" or (name.startswith("ablate_") and name != VERSION_TABLE)

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include, "version_table": VERSION_TABLE}
        )
        return [str(diff) for diff in compare_metadata(context, Base.metadata)]
