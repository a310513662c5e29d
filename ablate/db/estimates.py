"""Time estimates of study runs: recorded when ``ablate run`` starts, closed when it ends.

One row per invocation that had runs to train, so a study resumed three times has three
estimates, each of the rest of it; ``ablate status`` shows the latest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update

from ablate.db import writer
from ablate.db._engine import session_scope
from ablate.db._schema import EstimateRow


@dataclass(frozen=True)
class EstimateRecord:
    made_at: datetime
    host: str
    runs: int  # runs left to finish when it was made
    slots: int
    estimated_s: float | None  # None: nothing to estimate from
    unknown_runs: int  # runs left out of estimated_s
    sources: str
    took_s: float | None  # None: the study did not finish in that invocation


def record_estimate(
    engine: Engine, study_id: int, *, host: str, runs: int, slots: int,
    estimated_s: float | None, unknown_runs: int, sources: str,
) -> int:  # fmt: skip
    """Store an invocation's estimate of the rest of its study; returns its id."""
    with session_scope(engine) as session:
        row = EstimateRow(
            study_id=study_id, made_at=writer.utcnow(), host=host, runs=runs, slots=slots,
            estimated_s=estimated_s, unknown_runs=unknown_runs, sources=sources,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def finish_estimate(engine: Engine, estimate_id: int, *, took_s: float) -> None:
    """The study finished: the wall time since the estimate was made."""
    with session_scope(engine) as session:
        session.execute(
            update(EstimateRow).where(EstimateRow.id == estimate_id).values(took_s=took_s)
        )


def last_estimate(engine: Engine, study_id: int) -> EstimateRecord | None:
    """The study's latest estimate, or None if no run of it made one."""
    e = EstimateRow
    columns = (e.made_at, e.host, e.runs, e.slots, e.estimated_s, e.unknown_runs, e.sources,
               e.took_s)  # fmt: skip
    with session_scope(engine) as session:
        row = session.execute(
            select(*columns).where(e.study_id == study_id).order_by(e.id.desc()).limit(1)
        ).first()
    return None if row is None else EstimateRecord(*row)
