"""YAML study file → validated, frozen StudySpec, with file:line in every error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ablate.errors import NotFoundError, SpecError
from ablate.spec._names import suggest
from ablate.spec._resolve import SpecPathError, check_semantics
from ablate.spec._study import StudySpec

Loc = tuple[str | int, ...]


def _line_map(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    """Record the 1-based line of every mapping key and sequence item under ``node``."""
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[(*loc, key)] = key_node.start_mark.line + 1
            _line_map(value_node, (*loc, key), lines)
            lines[(*loc, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*loc, index), lines)


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int:
    while loc and loc not in lines:
        loc = loc[:-1]
    return lines.get(loc, 1)


def _fields_at(loc: Loc) -> list[str]:
    """Field names of the spec model at ``loc`` (for 'did you mean' on unknown keys)."""
    model: type[BaseModel] | None = StudySpec
    for part in loc:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return []
        annotation = model.model_fields[part].annotation
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    return list(model.model_fields) if model else []


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif "." in part:  # a dotted grid/search key: quote it so the path stays readable
            text += f"['{part}']"
        else:
            text += f".{part}" if text else part
    return text or "the top level"


def _message(error: dict[str, Any], where: str, lines: dict[Loc, int]) -> str:
    loc: Loc = tuple(p for p in error["loc"] if not str(p).startswith("function-"))
    at = f"{where}:{_line_of(loc, lines)}"
    if error["type"] == "extra_forbidden":
        key = str(loc[-1])
        parent = loc[:-1]
        hint = suggest(key, _fields_at(parent))
        return f"Unknown key '{key}' at {_dotted(parent)} in {at}{hint or '.'}"
    if error["type"] == "unknown_name":
        ctx = error["ctx"]
        return f"Unknown {ctx['what']} '{ctx['value']}' at {_dotted(loc)} in {at}{ctx['hint']}" + (
            " Run 'ablate models' to list them." if ctx["hint"].startswith("; did") else ""
        )
    if error["type"] == "missing":
        return f"Missing required key '{loc[-1]}' at {_dotted(loc[:-1])} in {at}."
    message = error["msg"].removeprefix("Value error, ")
    shown = error.get("input")
    got = f" (got {shown!r})" if not isinstance(shown, dict | list) and shown is not None else ""
    return f"Bad value at {_dotted(loc)} in {at}: {message}{got}."


def parse_study(text: str, *, where: str = "<study>") -> StudySpec:
    """Validate study YAML ``text``; ``where`` names it in messages (usually the path)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{where}{line} is not valid YAML: {problem}.") from None
    if not isinstance(data, dict):
        raise SpecError(
            f"{where} must be a YAML mapping with at least 'name:'; got {type(data).__name__}."
        )
    lines: dict[Loc, int] = {}
    _line_map(node, (), lines)
    try:
        spec = StudySpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_message(exc.errors()[0], where, lines)) from None
    try:
        check_semantics(spec)
    except SpecPathError as exc:
        if exc.error is not None:
            raise SpecError(_message(exc.error, where, lines)) from None
        at = f"{where}:{_line_of(exc.loc, lines)}"
        raise SpecError(f"{exc.message} (at {_dotted(exc.loc)} in {at}).") from None
    return spec


def load_study(path: Path) -> tuple[StudySpec, str]:
    """Read and validate a study file; returns the spec and its text (kept for provenance)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(
            f"Study file {path} does not exist; see studies/ for examples."
        ) from None
    except OSError as exc:
        raise SpecError(f"Cannot read study file {path}: {exc.strerror}.") from None
    return parse_study(text, where=str(path)), text
