"""Checking a name against a catalogue, with close matches in the message."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from pydantic_core import PydanticCustomError


def suggest(value: str, choices: Sequence[str]) -> str:
    """'; did you mean 'x'?' or '' — appended to messages about unknown names."""
    close = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


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
