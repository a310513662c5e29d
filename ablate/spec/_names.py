"""Checking a name against a catalogue, with close matches in the message."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from pydantic_core import PydanticCustomError


def suggest(value: str, choices: Sequence[str], *, n: int = 1) -> str:
    """The package's one close-match hint, appended to messages about unknown names.

    "; did you mean 'a'?" (with ``n`` > 1 up to n names: "; did you mean 'a' or 'b'?"), or ''.
    """
    close = difflib.get_close_matches(str(value), list(choices), n=n, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(f"'{name}'" for name in close) + "?"


def check_name(value: str, choices: Sequence[str], what: str) -> str:
    """Return ``value`` if it is one of ``choices``; else raise an ``unknown_name`` error.

    The loader places the location between the name and the suggestion, giving
    "Unknown fusion 'concta' at model.fusion in f.yaml:7; did you mean 'concat'? ...".
    """
    if value in choices:
        return value
    raise PydanticCustomError(
        "unknown_name",
        "Unknown {what} '{value}'",
        {
            "what": what,
            "value": value,
            "hint": suggest(value, choices) or f"; choose one of: {', '.join(choices)}.",
        },
    )
