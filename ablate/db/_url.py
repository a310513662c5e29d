"""Storage URLs: hiding their passwords, finding the file behind a SQLite one."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# user:password@ in the authority (the last '@' before the path, so a raw '@' in a password
# is hidden too), and libpq's ?password=... / &password=... query parameter.
_PASSWORD = re.compile(r"(://[^:/@?#]+:)[^/?#]*(@)")
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def redact(url: str) -> str:
    """The URL with any password replaced by '***', safe to print, log or store."""
    return _QUERY_PASSWORD.sub(r"\1***", _PASSWORD.sub(r"\1***\2", url))


def sqlite_database(url: str) -> str | None:
    """The ``database`` part of a sqlite URL ('' for in-memory), or None for other URLs."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    if parsed.query.get("mode") == "memory" or parsed.database in (None, "", ":memory:"):
        return ""
    return parsed.database


def sqlite_path(url: str) -> Path | None:
    """The file behind a sqlite URL, or None for other databases (and in-memory SQLite)."""
    database = sqlite_database(url)
    return Path(database) if database else None
