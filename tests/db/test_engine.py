"""Opening the results database: URLs that are refused, redaction, what read commands need."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablate.db import ensure_schema, make_engine, redact, sqlite_path
from ablate.errors import NotFoundError, StorageError, UsageError


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://alice:s3cret@h/db", "postgresql+psycopg://alice:***@h/db"),
        ("postgresql+psycopg://alice:p@ss@h/db", "postgresql+psycopg://alice:***@h/db"),
        (
            "postgresql+psycopg://alice@h/db?password=s3cret",
            "postgresql+psycopg://alice@h/db?password=***",
        ),
        (
            "postgresql+psycopg://alice@h/db?sslmode=require&password=s3cret&application_name=a",
            "postgresql+psycopg://alice@h/db?sslmode=require&password=***&application_name=a",
        ),
        (
            "postgresql+psycopg://alice@h/db?PASSWORD=s3cret",
            "postgresql+psycopg://alice@h/db?PASSWORD=***",
        ),
        ("postgresql+psycopg://alice@h:5432/db", "postgresql+psycopg://alice@h:5432/db"),
        ("sqlite:///db/ablate.sqlite", "sqlite:///db/ablate.sqlite"),
    ],
)
def test_redact_hides_every_password(url: str, shown: str) -> None:
    assert redact(url) == shown


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///db/a.sqlite", Path("db/a.sqlite")),
        ("sqlite:////abs/a.sqlite", Path("/abs/a.sqlite")),
        ("sqlite+pysqlite:///db/a.sqlite", Path("db/a.sqlite")),
        ("sqlite:///db/a.sqlite?timeout=5", Path("db/a.sqlite")),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("postgresql+psycopg://h/db", None),
    ],
)
def test_sqlite_path(url: str, path: Path | None) -> None:
    assert sqlite_path(url) == path


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "sqlite+pysqlite:///:memory:", "sqlite:///x?mode=memory"],
)
@pytest.mark.parametrize("create", [True, False])
def test_in_memory_sqlite_is_refused(url: str, create: bool) -> None:
    with pytest.raises(UsageError) as info:
        make_engine(url, create=create)
    assert str(info.value) == (
        f"In-memory SQLite ('{url}') would lose every result when ablate exits; give a file "
        "instead, e.g. --storage sqlite:///db/ablate.sqlite."
    )


def test_a_new_file_still_gets_created(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'new.sqlite'}")
    ensure_schema(engine)
    engine.dispose()
    reread = make_engine(f"sqlite:///{tmp_path / 'sub' / 'new.sqlite'}", create=False)
    reread.dispose()


def test_empty_file_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    path.touch()
    with pytest.raises(NotFoundError, match="is an empty file and holds no ablate results yet"):
        make_engine(f"sqlite:///{path}", create=False)
    assert path.stat().st_size == 0 and sorted(tmp_path.iterdir()) == [path]


def test_an_empty_file_is_fine_for_a_run(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    path.touch()
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    engine.dispose()
    make_engine(f"sqlite:///{path}", create=False).dispose()


def test_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"not a database " * 20)
    with pytest.raises(StorageError) as info:
        make_engine(f"sqlite:///{path}", create=False)
    assert str(info.value) == (
        f"Cannot read the results database {path}: file is not a database; check that it is "
        "an ablate SQLite file, or choose the database with --storage URL or $ABLATE_STORAGE."
    )


def test_unparsable_port_is_a_usage_error() -> None:
    with pytest.raises(
        UsageError, match=r"^Cannot parse storage URL 'postgresql\+psycopg://u:\*\*\*@h:abc/db'"
    ):
        make_engine("postgresql+psycopg://u:pw@h:abc/db")
