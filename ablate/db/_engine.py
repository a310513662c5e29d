"""Opening the results database: SQLite (WAL, synchronous=FULL) or PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, select
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from ablate.db._migrate import upgrade_database
from ablate.db._schema import MetaRow
from ablate.db._url import redact, sqlite_database, sqlite_path
from ablate.errors import NotFoundError, StorageError, UsageError

DEFAULT_STORAGE = "sqlite:///db/ablate.sqlite"
_STORAGE_FIX = "choose the database with --storage URL or $ABLATE_STORAGE"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, *, create: bool = True) -> Engine:
    """An engine for ``url``; SQLite files get WAL + synchronous=FULL on every connection.

    With ``create=False`` (what read commands call) the database must already hold ablate's
    tables: a missing file, an empty one, an unreachable server or a missing database is one
    error that says what to do, before the command queries anything.
    """
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", url):
        raise UsageError(
            f"Unsupported storage URL '{redact(url)}'; use sqlite:///path/to/file.sqlite "
            "or postgresql+psycopg://user@host/dbname."
        )
    if sqlite_database(url) == "":
        raise UsageError(
            f"In-memory SQLite ('{redact(url)}') would lose every result when ablate exits; "
            "give a file instead, e.g. --storage sqlite:///db/ablate.sqlite."
        )
    path = sqlite_path(url)
    if path is not None:
        _check_sqlite_file(url, path, create=create)
    try:
        engine = create_engine(url, pool_pre_ping=path is None)
    except NoSuchModuleError:
        driver = url.split("://", 1)[0]
        raise UsageError(
            f"Unknown database driver '{driver}' in storage URL '{redact(url)}'; use "
            "sqlite:///path/to/file.sqlite or postgresql+psycopg://user@host/dbname."
        ) from None
    except ImportError as exc:
        raise UsageError(
            f"Storage URL '{redact(url)}' needs the Python package '{exc.name}', which is not "
            f"installed; pip install {exc.name}, or use postgresql+psycopg://."
        ) from None
    except (ArgumentError, ValueError) as exc:
        raise UsageError(
            f"Cannot parse storage URL '{redact(url)}': {redact(str(exc))}; use "
            "sqlite:///path/to/file.sqlite or postgresql+psycopg://user@host:5432/dbname."
        ) from None
    if path is not None:
        event.listen(engine, "connect", _sqlite_pragmas)
    if not create:
        _check_readable(engine, url, path)
    return engine


def _check_sqlite_file(url: str, path: Path, *, create: bool) -> None:
    if path.is_dir():
        raise UsageError(
            f"Storage path {path.absolute()} is a folder; name a file in it, e.g. "
            f"--storage sqlite:///{path / 'ablate.sqlite'}."
        )
    if not path.exists() and not create:
        if path.is_absolute():
            raise NotFoundError(
                f"No results database at {path}; run 'ablate run STUDY.yaml' first, "
                "or pass --storage."
            )
        which = "the default storage" if url == DEFAULT_STORAGE else "the storage"
        raise NotFoundError(
            f"No results database at {path.absolute()} ({which} {redact(url)} is relative to "
            "the current folder); run 'ablate run STUDY.yaml' first, run this from the folder "
            f"where you ran it, or {_STORAGE_FIX}."
        )
    if not create and path.stat().st_size == 0:  # checked before connecting writes a header
        raise NotFoundError(
            f"The results database {path.absolute()} is an empty file and holds no ablate "
            "results yet (a run stopped while creating it leaves one); run 'ablate run "
            f"STUDY.yaml' to fill it, or {_STORAGE_FIX}."
        )
    if create:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(
                f"Cannot create the folder for the results database {path.absolute()}: "
                f"{exc.strerror}; {_STORAGE_FIX}."
            ) from None


def _check_readable(engine: Engine, url: str, path: Path | None) -> None:
    """For read commands: the database answers and holds ablate's tables."""
    where = str(path.absolute()) if path is not None else redact(url)
    try:
        with engine.connect() as connection:
            present = inspect(connection).has_table("ablate_study")
    except DBAPIError as exc:
        engine.dispose()
        reason = redact(str(exc.orig).strip().splitlines()[0]) if exc.orig else type(exc).__name__
        if path is not None:
            raise StorageError(
                f"Cannot read the results database {where}: {reason}; check that it is an "
                f"ablate SQLite file, or {_STORAGE_FIX}."
            ) from None
        if "does not exist" in reason:
            raise NotFoundError(
                f"Cannot open the results database {where}: {reason}; create it (createdb) "
                f"and run 'ablate run STUDY.yaml', or {_STORAGE_FIX}."
            ) from None
        raise StorageError(
            f"Cannot reach the results database {where}: {reason}; check that the server is "
            f"running and the URL's host, port, user and password, or {_STORAGE_FIX}."
        ) from None
    if not present:
        engine.dispose()
        raise NotFoundError(
            f"The results database {where} holds no ablate results yet; run "
            f"'ablate run STUDY.yaml' to fill it, or {_STORAGE_FIX}."
        )


def ensure_schema(engine: Engine) -> None:
    """Create or upgrade ablate's tables to the newest migration; record the schema version.

    Only additive migrations run automatically (see ``ablate.db._migrate``); a SQLite file on a
    network file system is refused before anything is written.
    """
    upgrade_database(engine, explicit=False)


def has_schema(engine: Engine) -> bool:
    return inspect(engine).has_table("ablate_study")


def schema_version(engine: Engine) -> int | None:
    if not inspect(engine).has_table("ablate_meta"):
        return None
    with Session(engine) as session:
        value = session.scalar(select(MetaRow.value).where(MetaRow.key == "schema_version"))
    return int(value) if value is not None else None


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def optuna_engine_policy(engine: Engine) -> None:
    """Give the engine Optuna's storage made for itself the same policy as ours (WAL,
    synchronous=FULL, busy timeout on every connection), so that one database has one policy.

    Connections Optuna already opened are closed, so that every later one gets it."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        engine.dispose()
