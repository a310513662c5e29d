"""What happens once before a study's first trial: its data prepared, and every name and file
it can reach checked, so that a typo stops the study at once instead of failing its runs one
by one for hours."""

from __future__ import annotations

from ablate.data import ensure_dataset
from ablate.errors import UsageError
from ablate.scheduler._workers import Workers
from ablate.scheduler.devices import DevicePool
from ablate.spec import StudySpec, TrialConfig, backbones_reached, resolve
from ablate.worker._messages import CheckNames, NamesChecked


def prepare_data(spec: StudySpec, planned: list[TrialConfig], *, root) -> None:
    """Every data set the study's runs use, made or checked once (cached for every trial)."""
    for data in {c.data for c in planned} or {spec.data}:
        ensure_dataset(data, root=root)


def check_reachable(
    spec: StudySpec, planned: list[TrialConfig], pool: DevicePool, workers: Workers
) -> None:
    """Weights files here; backbone names by a worker (it has timm imported; this process
    never imports torch). Raises UsageError naming the first problem."""
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
        worker.conn.send(CheckNames(backbones_reached(spec)))
        reply = worker.conn.recv() if worker.conn.poll(600) else None
    except (EOFError, OSError):
        reply = None  # the worker died; the trials will say why
    finally:
        pool.release(slot)
    problems = reply.problems if isinstance(reply, NamesChecked) else ()
    if problems:
        more = f" ({len(problems) - 1} more name(s) unknown)" if len(problems) > 1 else ""
        raise UsageError(problems[0] + more)
