"""Checking a name against a catalogue, with close matches in the message."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic_core import PydanticCustomError

from ablate.errors import SpecError


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


Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """A problem with a component the study names, found where plugins are imported (the dry
    run, a worker's preflight), at ``loc`` in the study file: ('model', 'fusion') or ('grid',
    'model.fusion', 2). The message is ``f"{head} at {where}{tail}"``, where ``where`` is the
    dotted location, with the file and line once the study file is known."""

    loc: Loc
    head: str  # "Unknown fusion 'concta'"
    tail: str  # "; did you mean 'concat'? Run 'ablate models' to list them."


class ComponentError(SpecError):
    """Problems with the components a study names; ``ablate.spec.locate`` words them with
    the study file's name and line."""

    def __init__(self, message: str, problems: tuple[Problem, ...]) -> None:
        super().__init__(message)
        self.problems = problems
