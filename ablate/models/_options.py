"""Calling a component with its typed options, and wording what is wrong with them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from ablate.errors import UsageError
from ablate.models._registry import Component
from ablate.spec._names import suggest


def option_problem(
    component: Component[Any], error: dict[str, Any]
) -> tuple[str | None, str, str]:
    """(option key or None, head, tail) of one pydantic error in a component's options:
    "Unknown key 'hiden'", "; did you mean 'hidden'?" or "Bad value", ": Input should …"."""
    key = str(error["loc"][0]) if error["loc"] else None
    if error["type"] == "extra_forbidden":
        takes = component.option_names
        hint = suggest(str(key), takes) or (
            f"; {component.info.kind} '{component.info.name}' takes "
            + (f"only {', '.join(takes)}." if takes else "no options.")
        )
        return key, f"Unknown key '{key}'", hint
    if error["type"] == "missing":
        needs = f" ({component.info.kind} '{component.info.name}' needs it)."
        return key, f"Missing option '{key}'", needs
    shown = error.get("input")
    got = f" (got {shown!r})" if not isinstance(shown, dict | list) and shown is not None else ""
    message = error["msg"].removeprefix("Value error, ")
    return key, "Bad value", f": {message}{got}."


def validated(component: Component[Any], values: Mapping[str, Any]) -> BaseModel:
    """The component's options, typed; an error is one UsageError naming the setting."""
    try:
        return component.validate(values)
    except ValidationError as exc:
        key, head, tail = option_problem(component, exc.errors()[0])
        at = component.options_at
        where = f"{at}.{key}" if key and not head.startswith("Unknown key") else at
        raise UsageError(f"{head} at {where}{tail}") from None


def typed_call(
    component: Component[Any], context: Mapping[str, Any], values: Mapping[str, Any], *args: Any
) -> Any:
    """Call ``component`` with the context it takes and its options, validated."""
    return component.call(context, validated(component, values), *args)
