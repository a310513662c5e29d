"""What a study's trials held at their peak: the measured half of a trial's memory need.

A trial writes its ``peak_memory_bytes`` when it ends (on a GPU torch's high-water mark of
allocated memory, on a CPU slot the worker's resident-set high water), with the data path
it used. The scheduler sizes the next trials of a cell from these, so they come back grouped
by what changes them: the cell, the batch size, the data path, and GPU versus CPU.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ablate.db._schema import TrialRow
from ablate.results import TrialState

# A CPU slot's trial stores the slot's label as its device (``DevicePool`` names them so);
# a GPU trial stores the GPU's name. A CPU peak (process RSS) says little about a GPU need.
CPU_LABEL_PREFIX = "CPU slot"


@dataclass(frozen=True)
class PeakMemory:
    """The peaks of one cell's complete trials at one batch size, data path and device kind."""

    cell_key: str
    batch_size: int
    data_path: str  # 'resident' | 'stream' | '' (not recorded)
    on_gpu: bool
    trials: int
    max_bytes: int
    median_bytes: int
    n_params: int | None  # the model's parameter count, where the trials stored it


def peak_memory_by_cell(
    engine: Engine, study_id: int, *, cell_key: str | None = None
) -> list[PeakMemory]:
    """Every measured group of the study's complete trials (of one cell, when given), ordered
    by cell and batch size."""
    t = TrialRow
    only = () if cell_key is None else (t.cell_key == cell_key,)
    groups: dict[tuple[str, int, str, bool], list[tuple[int, int | None]]] = defaultdict(list)
    with Session(engine) as session:
        rows = session.execute(
            select(
                t.cell_key, t.batch_size, t.data_path, t.device, t.peak_memory_bytes, t.n_params
            )
            .where(
                t.study_id == study_id,
                t.state == TrialState.COMPLETE,
                t.peak_memory_bytes.is_not(None),
                t.batch_size.is_not(None),
                *only,
            )
            .order_by(t.id)
        )
        for cell, batch, path, device, peak, n_params in rows:
            on_gpu = not (device or "").startswith(CPU_LABEL_PREFIX)
            groups[(cell, int(batch), path or "", on_gpu)].append((int(peak), n_params))
    return [
        PeakMemory(
            cell_key=cell,
            batch_size=batch,
            data_path=path,
            on_gpu=on_gpu,
            trials=len(found),
            max_bytes=max(p for p, _ in found),
            median_bytes=int(statistics.median(p for p, _ in found)),
            n_params=max((n for _, n in found if n is not None), default=None),
        )
        for (cell, batch, path, on_gpu), found in sorted(groups.items())
    ]
