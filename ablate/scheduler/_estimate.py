"""How long the rest of a study should take: pure arithmetic over epochs already timed.

No torch, no database: the caller passes the planned runs, the run keys already complete,
how many epochs each run in progress has done, and ``epoch_seconds_by_cell`` (cell key →
(sum of epoch seconds, epochs)). A run takes its cell's mean epoch time × its epochs left; a
cell not timed yet takes what ``borrowed`` says of it (a similar timed cell scaled by FLOPs,
or a probe: ``_estimate_sources``), else the mean epoch time of the cells that are timed;
with none of these, a run's time is unknown. The study's total on N slots replays the
planner's order (runs in progress first, then seed by seed, longest first) onto the
least-loaded slot. A search is n_trials runs of its mean epoch time, pruning not assumed.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from ablate.spec import TrialConfig, cell_key, cell_text


class Basis(Enum):
    TIMED = "timed"  # the cell's own epochs
    FLOPS = "flops"  # a similar timed cell's epochs, scaled by the ratio of their FLOPs
    PROBE = "probe"  # a few training steps of its model, timed on the device
    OTHER_CELLS = "other cells"  # the mean epoch of the cells timed so far
    UNKNOWN = "unknown"  # no epoch timed anywhere yet


@dataclass(frozen=True)
class Borrowed:
    """A cell's epoch time from somewhere other than its own epochs, and where from."""

    epoch_s: float
    basis: Basis
    source: str  # "probe 5 steps", "scaled by FLOPs from cell model.modality=fused"


@dataclass(frozen=True)
class CellEstimate:
    cell: str  # cell_text of the cell
    runs: int  # runs of the cell still to finish
    epoch_s: float | None  # the mean epoch seconds used
    seconds: float | None  # all its remaining runs together (one after another)
    basis: Basis
    source: str = ""  # what the epoch time came from, in words


@dataclass(frozen=True)
class StudyEstimate:
    cells: tuple[CellEstimate, ...]
    slots: int
    total_s: float | None  # makespan on ``slots`` of the runs whose time is known
    unknown_runs: int  # remaining runs not counted in ``total_s``

    @property
    def remaining_runs(self) -> int:
        return sum(c.runs for c in self.cells)


def estimate_study(
    planned: list[TrialConfig],
    epoch_seconds: Mapping[str, tuple[float, int]],
    *,
    complete: set[str],
    epochs_done: Mapping[str, int] | None = None,
    slots: int,
    borrowed: Mapping[str, Borrowed] | None = None,
) -> StudyEstimate:
    """The planned runs not in ``complete``; ``epochs_done``: run key → epochs finished of a
    run in progress (it counts only its epochs left and starts on a slot of its own);
    ``borrowed``: cell key → its epoch time from a similar cell or a probe."""
    done = dict(epochs_done or {})
    runs: list[tuple[int, int, float | None]] = []  # (in progress first, seed order, seconds)
    cells: dict[str, list] = {}  # cell key → [text, runs, epoch_s, seconds, basis, source]
    seeds = list(dict.fromkeys(c.seed for c in planned))
    for config in planned:
        if config.run_key in complete:
            continue
        key = cell_key(config.cell)
        epoch_s, basis, source = _epoch_time(key, epoch_seconds, borrowed or {})
        left = max(0, config.train.epochs - done.get(config.run_key, 0))
        seconds = None if epoch_s is None else epoch_s * left
        runs.append((0 if config.run_key in done else 1, seeds.index(config.seed), seconds))
        entry = cells.setdefault(key, [cell_text(config.cell), 0, epoch_s, 0.0, basis, source])
        entry[1] += 1
        entry[3] = None if seconds is None else entry[3] + seconds
    known = sorted((r for r in runs if r[2] is not None), key=lambda r: (r[0], r[1], -r[2]))
    return StudyEstimate(
        cells=tuple(CellEstimate(*entry) for entry in cells.values()),
        slots=slots,
        total_s=makespan([r[2] for r in known], slots) if known else None,
        unknown_runs=sum(1 for r in runs if r[2] is None),
    )


def _epoch_time(
    key: str, epoch_seconds: Mapping[str, tuple[float, int]], borrowed: Mapping[str, Borrowed]
) -> tuple[float | None, Basis, str]:
    """A cell's own timed epochs, else what it borrows, else the mean of the timed cells."""
    total, count = epoch_seconds.get(key, (0.0, 0))
    if count:
        return total / count, Basis.TIMED, f"timed {count} epoch{'s' * (count != 1)}"
    if key in borrowed:
        found = borrowed[key]
        return found.epoch_s, found.basis, found.source
    epochs = sum(n for _, n in epoch_seconds.values())
    if epochs:
        mean = sum(s for s, _ in epoch_seconds.values()) / epochs
        return mean, Basis.OTHER_CELLS, "estimated from other cells"
    return None, Basis.UNKNOWN, "no epoch timed yet"


def estimate_search(
    n_trials: int,
    epochs: int,
    epoch_seconds: Mapping[str, tuple[float, int]],
    *,
    finished: int,
    epochs_done: Mapping[str, int] | None = None,
    slots: int,
    borrowed: Borrowed | None = None,
) -> StudyEstimate:
    """A search's trials still to finish (``finished``: complete or pruned; ``epochs_done``:
    run key → epochs of each trial running), each taking every epoch at the study's mean
    epoch time (or ``borrowed``'s): pruning would only shorten it, so it is not assumed."""
    epoch_s, basis, source = _epoch_time("", {"": _pooled(epoch_seconds)}, {})
    if basis is Basis.UNKNOWN and borrowed is not None:
        epoch_s, basis, source = borrowed.epoch_s, borrowed.basis, borrowed.source
    done = list((epochs_done or {}).values())
    waiting = max(0, n_trials - finished - len(done))
    lefts = [max(0, epochs - d) for d in done] + [epochs] * waiting
    seconds = None if epoch_s is None else [epoch_s * left for left in lefts]
    cell = CellEstimate(
        cell="searched trials (pruning not assumed)",
        runs=len(lefts),
        epoch_s=epoch_s,
        seconds=None if seconds is None else sum(seconds),
        basis=basis,
        source=source,
    )
    return StudyEstimate(
        cells=(cell,) if lefts else (),
        slots=slots,
        total_s=makespan(seconds, slots) if seconds else None,
        unknown_runs=len(lefts) if seconds is None else 0,
    )


def _pooled(epoch_seconds: Mapping[str, tuple[float, int]]) -> tuple[float, int]:
    return sum(s for s, _ in epoch_seconds.values()), sum(n for _, n in epoch_seconds.values())


def makespan(seconds_in_order: list[float], slots: int) -> float:
    """When the last of these runs ends if each, in this order, goes to the slot that is free
    first (list scheduling)."""
    loads = [0.0] * max(1, slots)
    for seconds in seconds_in_order:
        heapq.heappush(loads, heapq.heappop(loads) + seconds)
    return max(loads)


def duration_text(seconds: float) -> str:
    """'0.8s', '45s', '12 min', '3.4 h'."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def cell_line(cell: CellEstimate) -> str:
    """One cell of a dry run: '  modality=social: 1 run(s) ≈ 4.0s (2s/epoch, timed 2 epochs)'."""
    head = f"  {cell.cell}: {cell.runs} run(s)"
    if cell.seconds is None or cell.epoch_s is None:
        return f"{head}: unknown ({cell.source or 'no epoch timed yet'})"
    return f"{head} ≈ {duration_text(cell.seconds)} ({cell.epoch_s:.3g}s/epoch, {cell.source})"


def total_line(estimate: StudyEstimate) -> str:
    """'≈ 8.0s in all on 2 slot(s)', with the runs it could not count."""
    if estimate.total_s is None:
        return "No epoch timed yet: the first runs will tell (see ablate status)."
    text = f"≈ {duration_text(estimate.total_s)} in all on {estimate.slots} slot(s)"
    if estimate.unknown_runs:
        text += f", plus {estimate.unknown_runs} run(s) not timed yet"
    return text


def eta_line(estimate: StudyEstimate) -> str:
    """'ETA ≈ 12 min (5 run(s) left on 2 running slot(s))' for ``ablate status``."""
    left = f"{estimate.remaining_runs} run(s) left on {estimate.slots} running slot(s)"
    if estimate.total_s is None:
        return f"ETA unknown: no epoch timed yet ({left})"
    more = f", {estimate.unknown_runs} not timed yet" if estimate.unknown_runs else ""
    return f"ETA ≈ {duration_text(estimate.total_s)} ({left}{more})"


def clock_text(seconds: float) -> str:
    """'8.0s', '45s', '12m 30s', '3h 04m': a wall time to compare with another."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def error_percent(estimated_s: float, took_s: float) -> float:
    """How much longer (+) or shorter (−) it took than estimated, in percent of the estimate."""
    return 100.0 * (took_s - estimated_s) / estimated_s


def error_line(estimated_s: float, took_s: float) -> str:
    """'estimated 12m 30s, took 14m 02s (+12 %)'."""
    error = error_percent(estimated_s, took_s)
    return f"estimated {clock_text(estimated_s)}, took {clock_text(took_s)} ({error:+.0f} %)"
