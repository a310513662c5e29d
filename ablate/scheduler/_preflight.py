"""What happens once before a study's first trial: its data prepared, and every name and file
it can reach checked, so that a typo stops the study at once instead of failing its runs one
by one for hours."""

from __future__ import annotations

from ablate._plugins import CodeRef
from ablate.data import ensure_dataset
from ablate.errors import UsageError
from ablate.scheduler._workers import Workers
from ablate.scheduler.devices import DevicePool
from ablate.spec import StudySpec, TrialConfig, backbones_reached, component_error, resolve
from ablate.worker._messages import CheckNames, NamesChecked


def prepare_data(spec: StudySpec, planned: list[TrialConfig], *, root) -> None:
    """Every data set the study's runs use, made or checked once (cached for every trial);
    a study with its own task loads its own data in the workers."""
    if spec.task is not None:
        return
    for data in {c.data for c in planned} or {spec.data}:
        ensure_dataset(data, root=root)


def check_reachable(
    spec: StudySpec,
    planned: list[TrialConfig],
    pool: DevicePool,
    workers: Workers,
    *,
    plugins: tuple[CodeRef, ...] = (),
) -> None:
    """Weights files here; backbone names, plugins and every component the study names by a
    worker (it has torch imported and may import user code; this process never does).
    Raises UsageError naming the first problem, or a ComponentError whose problems say where
    in the study file they are (the CLI adds the file and line)."""
    for config in planned or [resolve(spec, seed=spec.seeds[0], cell={})]:
        path = config.model.image.pretrained_path
        if path is not None and config.model.modality != "social" and not path.is_file():
            raise UsageError(
                f"Pretrained weights file {path} (model.image.pretrained_path) does not "
                "exist; fix the path or remove pretrained_path."
            )
    slot = pool.acquire()
    if slot is None:  # nothing free now: each trial still checks as it builds its model
        return
    try:
        worker = workers.get(slot)
        worker.conn.send(CheckNames(backbones_reached(spec), spec, plugins))
        reply = worker.conn.recv() if worker.conn.poll(600) else None
    except (EOFError, OSError):
        reply = None  # the worker died; the trials will say why
    finally:
        pool.release(slot)
    problems = reply.problems if isinstance(reply, NamesChecked) else ()
    located = reply.components if isinstance(reply, NamesChecked) else ()
    if located:
        raise component_error(located)
    if problems:
        more = f" ({len(problems) - 1} more name(s) unknown)" if len(problems) > 1 else ""
        raise UsageError(problems[0] + more)
