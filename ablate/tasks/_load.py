"""From a study's ``task:`` reference to the object that trains it (no torch at import)."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

from ablate._plugins import CodeRef, load_object
from ablate.errors import UsageError
from ablate.tasks._base import Task, UserLoop

if TYPE_CHECKING:
    from pathlib import Path

    from ablate.data._placement import DataPlacement


def load_task(ref: CodeRef | None, *, placement: DataPlacement | None = None) -> Task | UserLoop:
    """The built-in URFC task for None (holding its rows as ``placement`` says); else what
    ``ref`` names: a ``Task`` subclass (made with no arguments), a ``Task`` instance, or a
    function ``train(config, trial)``.

    Anything else is a usage error naming the reference, found before a trial trains."""
    if ref is None:
        from ablate.tasks.urfc import URFC

        return URFC(placement)
    found = load_object(ref)
    if inspect.isclass(found) and issubclass(found, Task):
        try:
            return found()
        except TypeError as exc:
            raise UsageError(
                f"Task {ref.text} cannot be made without arguments ({exc}); give every "
                "parameter of its __init__ a default, or read settings from the config."
            ) from None
    if isinstance(found, Task):
        return found
    if inspect.isfunction(found) and len(inspect.signature(found).parameters) == 2:
        return found
    raise UsageError(
        f"Task {ref.text} is a {type(found).__name__}, not a task: name a subclass of "
        "ablate.tasks.Task, or a function train(config, trial) for a loop of your own."
    )


def task_of(text: str | None, *, base: Path) -> Task | UserLoop:
    """``load_task`` from the reference as the study wrote it (``base``: the study's folder)."""
    from ablate._plugins import parse_ref

    return load_task(None if text is None else parse_ref(text, base=base, attribute=True))


def load_code(
    plugins: tuple[CodeRef, ...], task: CodeRef | None, *, placement: DataPlacement | None = None
) -> Task | UserLoop:
    """What a study's runs are trained with, loaded as every trainer loads it (the workers,
    ``ablate check``, ``ablate rerun``): its plugins imported (once per process, before any
    model is built), then its task (the built-in URFC task when it names none)."""
    from ablate.models import import_plugins  # torch: only where something will train

    import_plugins(plugins)
    return load_task(task, placement=placement)
