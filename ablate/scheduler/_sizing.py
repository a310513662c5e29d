"""Sizing a study's trials for the device pool: the rows each holds (its cache's manifest)
and the model part its cell's earlier trials measured (the database), put together by
``_memory.trial_need``. Used by the running study and by ``ablate run --dry-run``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ablate.data._memory import planned_manifest
from ablate.db import peak_memory_by_cell
from ablate.scheduler._memory import Need, Placement, trial_need
from ablate.scheduler.devices import DevicePool
from ablate.spec import (
    DataSpec,
    StudySpec,
    TrialConfig,
    cell_key,
    cell_text,
    grid_cells,
    resolve,
)


def placement(spec: StudySpec) -> Placement:
    """The study's ``resources.data_placement``."""
    return spec.resources.data_placement


class Sizer:
    """The need of any trial of one study, on one pool."""

    def __init__(
        self, spec: StudySpec, *, engine: Engine | None, study_id: int | None,
        data_root: Path, pool: DevicePool,
    ) -> None:  # fmt: skip
        self._spec, self._engine, self._study_id = spec, engine, study_id
        self._root, self._pool = data_root, pool
        self._manifests: dict[DataSpec, dict[str, Any] | None] = {}

    def manifest(self, data: DataSpec) -> dict[str, Any] | None:
        if data not in self._manifests:
            self._manifests[data] = planned_manifest(data, data_root=self._root)
        return self._manifests[data]

    def need(self, config: TrialConfig) -> Need | None:
        """What ``config`` will hold on a device; None when its cache does not exist yet."""
        own_task = self._spec.task is not None
        manifest = None if own_task else self.manifest(config.data)
        if manifest is None and not own_task:
            return None
        peaks = []
        if self._engine is not None and self._study_id is not None:
            key = cell_key(config.cell)
            peaks = peak_memory_by_cell(self._engine, self._study_id, cell_key=key)
        return trial_need(
            peaks,
            manifest=manifest,
            train_limit=config.data.train_limit,
            batch_size=config.train.batch_size,
            placement=placement(self._spec),
            on_gpu=self._pool.has_gpus,
            cap_bytes=self._pool.cap_bytes,
            largest_bytes=self._pool.largest_bytes,
            floor_bytes=self._pool.floor_bytes,
        )


@dataclass(frozen=True)
class CellNeed:
    """One cell's need as ``--dry-run`` shows it; ``refusal`` says why it can never run."""

    cell: dict[str, Any]
    need: Need | None  # None: its cache does not exist yet
    refusal: str | None


def study_needs(sizer: Sizer, spec: StudySpec, pool: DevicePool) -> list[CellNeed]:
    """Each cell's need (a search: its fixed settings'), in grid order."""
    out = []
    for cell in grid_cells(spec):
        config = resolve(spec, seed=spec.seeds[0], cell=cell)
        need = sizer.need(config)
        trial = f"A run of [{cell_text(cell)}]"
        refusal = None if need is None else pool.refusal(need, trial=trial)
        out.append(CellNeed(cell, need, refusal))
    return out
