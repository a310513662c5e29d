"""Fixtures for database tests: temporary SQLite files and throwaway PostgreSQL databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get(
    "ABLATE_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _require_services() -> bool:
    return os.environ.get("ABLATE_REQUIRE_SERVICES") == "1"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database ``ablate_test_<random>``, dropped afterwards."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"ablate_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        reason = f"PostgreSQL at {PG_ADMIN_URL} is not reachable ({exc.__class__.__name__})"
        if _require_services():
            pytest.fail(f"{reason} and ABLATE_REQUIRE_SERVICES=1")
        pytest.skip(reason)
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'ablate.sqlite'}"
