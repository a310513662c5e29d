"""YAML study file → validated, frozen StudySpec, with file:line in every error."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from ablate.errors import NotFoundError, SpecError
from ablate.spec._code import with_code
from ablate.spec._names import ComponentError, Problem, suggest
from ablate.spec._resolve import SpecPathError, check_semantics
from ablate.spec._study import StudySpec

Loc = tuple[str | int, ...]
_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAX_ENTRIES = 100_000


def _line_map(
    node: yaml.Node, loc: Loc, lines: dict[Loc, int], *, where: str, path: tuple[int, ...] = ()
) -> None:
    """Record the 1-based line of every mapping key and sequence item under ``node``.

    Also refuses what PyYAML accepts silently: a key given twice in one mapping (the first
    value would be dropped) and an alias inside its own anchor (a structure that contains
    itself, which nothing downstream can walk).
    """
    if id(node) in path:
        raise SpecError(
            f"Recursive YAML alias at {_dotted(loc)} in {where}:{node.start_mark.line + 1}: "
            "the anchored value contains itself; copy the values instead of the alias."
        )
    path = (*path, id(node))
    lines[loc] = node.start_mark.line + 1
    if len(lines) > _MAX_ENTRIES:  # aliases of aliases can expand exponentially
        raise SpecError(
            f"{where} expands to over {_MAX_ENTRIES:,} values through YAML aliases; "
            "a study file needs far fewer."
        )
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # a list or mapping as a key: construction rejects it, with its line
            key, line = key_node.value, key_node.start_mark.line + 1
            if key_node.tag != _MERGE_TAG:
                if (key_node.tag, key) in seen:
                    raise SpecError(
                        f"Duplicate key '{key}' at {_dotted(loc)} in {where}: lines "
                        f"{seen[key_node.tag, key]} and {line}; keep one of them (YAML would "
                        "silently drop the first)."
                    )
                seen[key_node.tag, key] = line
            lines[(*loc, key)] = line
            _line_map(value_node, (*loc, key), lines, where=where, path=path)
            lines[(*loc, key)] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*loc, index), lines, where=where, path=path)


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int:
    while loc and loc not in lines:
        loc = loc[:-1]
    return lines.get(loc, 1)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The spec models a field holds: itself, or the members of a union (``X | None``)."""
    if isinstance(annotation, type):
        return [annotation] if issubclass(annotation, BaseModel) else []
    return [m for m in get_args(annotation) if isinstance(m, type) and issubclass(m, BaseModel)]


def _walk(loc: Loc) -> tuple[Loc, type[BaseModel] | None, str | None]:
    """Follow a pydantic error location through the spec models.

    Returns the location as the file spells it (pydantic puts a tagged union's tag after the
    field: ``search.pruner.median.percentile`` is ``search.pruner.percentile``), the model it
    ends in (None below the models, e.g. in a grid) and, when that model is a member of a
    tagged union, its tag (``'median'``).
    """
    model: type[BaseModel] | None = StudySpec
    kept: list[str | int] = []
    tag: str | None = None
    index = 0
    while index < len(loc):
        part = loc[index]
        kept.append(part)
        index += 1
        field = model.model_fields.get(part) if model and isinstance(part, str) else None
        members = _models_in(field.annotation) if field else []
        model, tag = (members[0] if len(members) == 1 else None), None
        if field is not None and isinstance(field.discriminator, str) and index < len(loc):
            key = field.discriminator
            by_tag = {get_args(m.model_fields[key].annotation)[0]: m for m in members}
            if loc[index] in by_tag:
                tag = str(loc[index])
                model = by_tag[tag]
                index += 1
    return tuple(kept), model, tag


def _unknown_key_hint(
    key: str, parent: Loc, model: type[BaseModel] | None, tag: str | None
) -> str:
    """'; did you mean …?', or for a tagged union's member the options its kind takes."""
    fields = list(model.model_fields) if model else []
    if tag is not None:
        fields = [f for f in fields if f != "kind"]
    hint = suggest(key, fields)
    if hint or tag is None:
        return hint or "."
    takes = f"takes only {', '.join(fields)}" if fields else "takes no options"
    return f"; the '{tag}' {parent[-1]} {takes}."


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
    raw: Loc = tuple(p for p in error["loc"] if not str(p).startswith("function-"))
    loc = _walk(raw)[0]
    at = f"{where}:{_line_of(loc, lines)}"
    if error["type"] == "extra_forbidden":
        key = str(loc[-1])
        parent, model, tag = _walk(raw[:-1])
        hint = _unknown_key_hint(key, parent, model, tag)
        return f"Unknown key '{key}' at {_dotted(parent)} in {at}{hint}"
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


def _yaml_error(exc: yaml.YAMLError, text: str, where: str) -> SpecError:
    if isinstance(exc, yaml.reader.ReaderError):  # a control character: no mark, a position
        line = text[: exc.position].count("\n") + 1
        return SpecError(
            f"{where}:{line} is not valid YAML: character #x{exc.character:04x} is not "
            "allowed; delete it or write it as an escape in a double-quoted string."
        )
    mark = getattr(exc, "problem_mark", None)
    line = f":{mark.line + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return SpecError(f"{where}{line} is not valid YAML: {problem}.")


def parse_study(text: str, *, where: str = "<study>") -> StudySpec:
    """Validate study YAML ``text``; ``where`` names it in messages (usually the path)."""
    lines: dict[Loc, int] = {}
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is not None:  # checked before construction, which drops duplicate keys
                _line_map(node, (), lines, where=where)
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, where) from None
    except RecursionError:
        raise SpecError(
            f"{where} nests too deeply to read; a study file needs only a few levels."
        ) from None
    if not isinstance(data, dict):
        raise SpecError(
            f"{where} must be a YAML mapping with at least 'name:'; got {type(data).__name__}."
        )
    if "code" in data:
        raise SpecError(
            f"'code' at the top level in {where}:{_line_of(('code',), lines)} is filled in by "
            "ablate (the fingerprints of your plugins); remove it and list files in 'plugins:'."
        )
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


def study_lines(text: str, *, where: str = "<study>") -> dict[Loc, int]:
    """The 1-based line of every key and item of a study file's text (as parse_study maps
    them), for messages about problems found after parsing."""
    lines: dict[Loc, int] = {}
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _line_map(node, (), lines, where=where)
    finally:
        loader.dispose()
    return lines


def locate(problem: Problem, *, text: str | None = None, where: str | None = None) -> str:
    """The problem's message, at its dotted location and, given the study file's text and
    name, its line: "Unknown fusion 'concta' at model.fusion in studies/x.yaml:7; did you
    mean 'concat'? Run 'ablate models' to list them."."""
    at = _dotted(problem.loc)
    if text is not None and where is not None:
        at += f" in {where}:{_line_of(problem.loc, study_lines(text, where=where))}"
    return f"{problem.head} at {at}{problem.tail}"


def component_error(problems: list[Problem] | tuple[Problem, ...], **file: str) -> ComponentError:
    """One error for a list of problems: the first, and how many more."""
    more = f" ({len(problems) - 1} more problem(s) in the study)" if len(problems) > 1 else ""
    return ComponentError(locate(problems[0], **file) + more, tuple(problems))


def load_study(path: Path) -> tuple[StudySpec, str]:
    """Read and validate a study file; returns the spec and its text (kept for provenance)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(
            f"Study file {path} does not exist; see studies/ for examples."
        ) from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise SpecError(
            f"Study file {path}:{line} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); "
            "save it as UTF-8."
        ) from None
    except IsADirectoryError:
        raise SpecError(f"Study file {path} is a folder; name a .yaml file in it.") from None
    except OSError as exc:
        raise SpecError(f"Cannot read study file {path}: {exc.strerror}.") from None
    spec = parse_study(text, where=str(path))
    return with_code(spec, base=path.resolve().parent, where=str(path)), text
