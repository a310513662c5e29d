"""Finding, fingerprinting and importing the user's code a study names (standard library only).

A study lists plugins (``plugins: [ideas/film.py, mylab.fusions]``: files relative to the
study file, or importable modules) and may name a task (``task: tasks/digits.py:Digits``).
Installed packages offer plugins through the ``ablate.plugins`` entry-point group. Importing
a plugin runs its registrations (``@ablate.register_fusion`` …); the scheduler never does
that itself (user code imports torch): the dry run and the worker processes do.

Every reference has a fingerprint (a hash of the file's bytes, or the package's version), so
that editing a plugin changes the identity of the runs that use it.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ablate.errors import UsageError

ENTRY_POINT_GROUP = "ablate.plugins"


@dataclass(frozen=True)
class CodeRef:
    """One piece of user code: a file (absolute path) or an importable module, and, for a
    task, the object's name in it (``path.py:Name``)."""

    text: str  # as the study wrote it
    path: Path | None  # a file, resolved against the study's folder
    module: str | None  # or a module name
    attribute: str | None = None

    @property
    def key(self) -> str:
        """How runs record it: as written (stable across machines with the same layout)."""
        return self.text


def parse_ref(text: str, *, base: Path, attribute: bool = False) -> CodeRef:
    """``ideas/film.py`` or ``mylab.fusions`` (with ``attribute``: ``...:Name`` required)."""
    head, sep, name = text.rpartition(":") if attribute else (text, "", "")
    if attribute and (not sep or not name.isidentifier()):
        raise UsageError(
            f"'{text}' must name a file or module and an object in it, e.g. "
            "tasks/digits.py:Digits or mylab.tasks:Digits."
        )
    if head.endswith(".py") or "/" in head or "\\" in head:
        path = (base / head).resolve()
        if not path.is_file():
            raise UsageError(
                f"Plugin file {head} does not exist (looked for {path}, relative to the study "
                "file); fix the path in 'plugins:' or 'task:'."
            )
        return CodeRef(text, path, None, name or None)
    if not all(part.isidentifier() for part in head.split(".")):
        raise UsageError(
            f"'{head}' is neither a .py file nor a module name; write a path like "
            "ideas/film.py (relative to the study file) or a module like mylab.fusions."
        )
    return CodeRef(text, None, head, name or None)


def fingerprint(ref: CodeRef) -> str:
    """sha256 of the file (first 16 hex digits), or the installed distribution's version of
    a module (or the hash of its file, for a module that is not from a distribution)."""
    if ref.path is not None:
        return "sha256:" + hashlib.sha256(ref.path.read_bytes()).hexdigest()[:16]
    assert ref.module is not None
    top = ref.module.split(".")[0]
    for dist in importlib.metadata.packages_distributions().get(top, []):
        try:
            return f"{dist}=={importlib.metadata.version(dist)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    spec = importlib.util.find_spec(ref.module)
    if spec is None or spec.origin is None or not Path(spec.origin).is_file():
        raise UsageError(
            f"Plugin module '{ref.module}' cannot be found on this machine; install it, or "
            "list a file path instead (relative to the study file)."
        )
    return "sha256:" + hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest()[:16]


def entry_point_refs() -> list[CodeRef]:
    """Plugins that installed packages offer through the ``ablate.plugins`` group."""
    found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    return [CodeRef(f"entry point {ep.name}", None, ep.module) for ep in found]


_LOADED: dict[str, ModuleType] = {}


def import_ref(ref: CodeRef) -> ModuleType:
    """Import the plugin once per process; any error becomes one UsageError naming the file
    and line where it happened (exit 2 before anything is written)."""
    key = str(ref.path) if ref.path is not None else str(ref.module)
    if key in _LOADED:
        return _LOADED[key]
    try:
        if ref.path is not None:
            name = "ablate_plugin_" + hashlib.sha256(key.encode()).hexdigest()[:12]
            spec = importlib.util.spec_from_file_location(name, ref.path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # dataclasses and pickling look modules up by name
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(str(ref.module))
    except UsageError as exc:  # e.g. a name registered twice: already says what to do
        sys.modules.pop(locals().get("name", ""), None)
        raise UsageError(f"{_where(exc, ref)}: {exc}") from None
    except Exception as exc:
        sys.modules.pop(locals().get("name", ""), None)
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise UsageError(
            f"Plugin {ref.text} does not import: {_where(exc, ref)}: "
            f"{exc.__class__.__name__}: {first}".rstrip(": ")
        ) from None
    _LOADED[key] = module
    return module


def _where(exc: BaseException, ref: CodeRef) -> str:
    """'ideas/film.py:12', the deepest frame of the traceback inside the plugin's file (or
    the last frame at all), so that the user sees their own line."""
    frames = traceback.extract_tb(exc.__traceback__)
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        return f"{exc.filename}:{exc.lineno}"
    mine = [f for f in frames if ref.path is not None and Path(f.filename) == ref.path]
    frame = (mine or frames or [None])[-1]
    if frame is None:
        return ref.text
    return f"{frame.filename}:{frame.lineno}"


def load_object(ref: CodeRef) -> Any:
    """The object a ``path.py:Name`` or ``module:Name`` reference names."""
    module = import_ref(ref)
    try:
        return getattr(module, str(ref.attribute))
    except AttributeError:
        raise UsageError(
            f"{ref.text}: the plugin defines no '{ref.attribute}'; check the name after ':'."
        ) from None
