"""Fixtures for database tests: temporary SQLite files and throwaway PostgreSQL databases."""

from __future__ import annotations

import pytest


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'ablate.sqlite'}"
