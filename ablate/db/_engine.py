"""Opening the results database: SQLite (WAL, synchronous=FULL) or PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ablate.db._schema import MetaRow
from ablate.errors import StorageError, UsageError

DEFAULT_STORAGE = "sqlite:///db/ablate.sqlite"
_PASSWORD = re.compile(r"(://[^:/@]+:)[^@]*(@)")


def redact(url: str) -> str:
    """The URL with any password replaced by '***', safe to print, log or store."""
    return _PASSWORD.sub(r"\1***\2", url)


def sqlite_path(url: str) -> Path | None:
    """The file behind a sqlite URL, or None for other databases (and in-memory SQLite)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///")
    return None if path in ("", ":memory:") else Path(path)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, *, create: bool = True) -> Engine:
    """An engine for ``url``; SQLite files get WAL + synchronous=FULL on every connection."""
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", url):
        raise UsageError(
            f"Unsupported storage URL '{redact(url)}'; use sqlite:///path/to/file.sqlite "
            "or postgresql+psycopg://user@host/dbname."
        )
    path = sqlite_path(url)
    if path is not None:
        if not path.exists() and not create:
            raise UsageError(
                f"No results database at {path}; run 'ablate run STUDY.yaml' first, "
                "or pass --storage."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=path is None)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def ensure_schema(engine: Engine) -> None:
    """Create or upgrade ablate's tables to the newest migration; record the schema version.

    Only additive migrations run automatically (see ``ablate.db._migrate``); a SQLite file on a
    network file system is refused before anything is written.
    """
    from ablate.db._fs import check_sqlite_location
    from ablate.db._migrate import upgrade

    path = sqlite_path(engine.url.render_as_string(hide_password=False))
    if path is not None:
        check_sqlite_location(path)
    try:
        upgrade(engine)
    except SQLAlchemyError as exc:
        raise StorageError(
            f"Cannot prepare the results database {redact(str(engine.url))}: "
            f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}"
        ) from None


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
