"""The user's code a study names (plugins, a task): where it is, and its fingerprints."""

from __future__ import annotations

from pathlib import Path

from ablate._plugins import CodeRef, entry_point_refs, fingerprint, parse_ref
from ablate.errors import SpecError, UsageError
from ablate.spec._study import StudySpec


def code_refs(spec: StudySpec, *, base: Path) -> list[CodeRef]:
    """The study's plugins, then its task (as ``path.py:Name``), resolved against ``base``
    (the study file's folder)."""
    refs = [parse_ref(text, base=base) for text in spec.plugins]
    if spec.task is not None:
        refs.append(parse_ref(spec.task, base=base, attribute=True))
    return refs


def with_code(spec: StudySpec, *, base: Path, where: str) -> StudySpec:
    """The spec with the fingerprint of every plugin and task filled in (``spec.code``):
    editing a plugin file changes the identity of the runs that use it."""
    if not spec.plugins and spec.task is None:
        return spec
    try:
        code = {ref.key: fingerprint(ref) for ref in code_refs(spec, base=base)}
    except UsageError as exc:
        raise SpecError(f"{where}: {exc}") from None
    return spec.model_copy(update={"code": code})


def plugin_refs(spec: StudySpec, spec_path: str | Path) -> tuple[CodeRef, ...]:
    """What every worker of the study imports before it builds a model: the study's plugins
    (files resolved against the study file's folder) and the installed ones (entry points)."""
    base = Path(spec_path).resolve().parent
    try:
        listed = [parse_ref(text, base=base) for text in spec.plugins]
    except UsageError as exc:
        raise SpecError(f"{spec_path}: {exc}") from None
    return (*listed, *entry_point_refs())


def task_ref(spec: StudySpec, spec_path: str | Path) -> CodeRef | None:
    """The study's own task (``path.py:Name``), resolved; None for the built-in URFC task."""
    if spec.task is None:
        return None
    try:
        return parse_ref(spec.task, base=Path(spec_path).resolve().parent, attribute=True)
    except UsageError as exc:
        raise SpecError(f"{spec_path}: {exc}") from None
