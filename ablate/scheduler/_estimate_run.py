"""The time estimate of a study as ``ablate run`` runs it: made and recorded when its loop
starts, refreshed for the live view as epochs finish, and compared with the wall time it took
when the study is done ("estimated 12m 30s, took 14m 02s (+12 %)").

Grid and search studies alike: cells without timed epochs borrow from a similar timed cell or
a probe on a slot's worker (``_estimate_sources``); the probes are made once, at the start.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ablate.db.estimates import finish_estimate, record_estimate
from ablate.scheduler._estimate import (
    Basis,
    Borrowed,
    StudyEstimate,
    error_line,
    estimate_search,
    estimate_study,
    eta_line,
)
from ablate.scheduler._estimate_sources import PROBE_S, Probe, borrowed_epochs, probe_here
from ablate.scheduler._ledger import Ledger
from ablate.scheduler.devices import DevicePool
from ablate.spec import StudySpec, TrialConfig, cell_key, grid_trials, resolve


class RunEstimate:
    """One invocation's estimate of the rest of its study (``probe`` None: no probe)."""

    def __init__(
        self,
        spec: StudySpec,
        planned: list[TrialConfig],
        *,
        slots: int,
        probe: Probe | None,
        data_root: Path,
    ) -> None:
        self.spec, self.planned, self.slots = spec, planned, slots
        self._probe, self._data_root = probe, data_root
        self._borrowed: dict[str, Borrowed] = {}
        self._started = time.monotonic()
        self._row: tuple[Engine, int] | None = None
        self.first: StudyEstimate | None = None

    def start(
        self,
        engine: Engine,
        study_id: int,
        ledger: Ledger,
        epoch_seconds: Mapping[str, tuple[float, int]],
        *,
        host: str,
    ) -> StudyEstimate:
        """Probe what needs it, estimate the rest, record it; the clock starts now."""
        estimate = self.before(ledger, epoch_seconds)
        row = record_estimate(
            engine, study_id, host=host, runs=estimate.remaining_runs, slots=self.slots,
            estimated_s=estimate.total_s, unknown_runs=estimate.unknown_runs,
            sources=sources_text(estimate),
        )  # fmt: skip
        self._row, self.first, self._started = (engine, row), estimate, time.monotonic()
        return estimate

    def before(
        self, ledger: Ledger, epoch_seconds: Mapping[str, tuple[float, int]]
    ) -> StudyEstimate:
        """The rest of the study before anything runs, what no epoch timed yet probed."""
        configs = self.planned or [resolve(self.spec, seed=self.spec.seeds[0], cell={})]
        if self._probe is not None:
            try:
                self._borrowed = borrowed_epochs(
                    configs, epoch_seconds, probe=self._probe, data_root=self._data_root,
                    seconds=PROBE_S,
                )  # fmt: skip
            except Exception:  # an estimate is never worth a failed study: go without
                self._borrowed = {}
        return self.now(ledger, (), epoch_seconds)

    def now(
        self, ledger: Ledger, active: Iterable[Any], epoch_seconds: Mapping[str, tuple[float, int]]
    ) -> StudyEstimate:
        """The rest as it stands: runs in progress by their epochs left (``active``: the
        trials running here, each with ``run_key`` and ``epoch``), the others whole."""
        done = {a.run_key: a.epoch for a in active}
        if self.spec.search is None:
            return estimate_study(
                self.planned, epoch_seconds, complete=ledger.complete, epochs_done=done,
                slots=self.slots, borrowed=self._borrowed,
            )  # fmt: skip
        return estimate_search(
            self.spec.search.n_trials, self.spec.train.epochs, epoch_seconds,
            finished=len(ledger.complete) + len(ledger.pruned), epochs_done=done,
            slots=self.slots, borrowed=self._borrowed.get(cell_key({})),
        )  # fmt: skip

    def eta(
        self, ledger: Ledger, active: Iterable[Any], epoch_seconds: Mapping[str, tuple[float, int]]
    ) -> str:
        """The live view's line: 'ETA ≈ 3 min (5 run(s) left on 2 running slot(s))'."""
        return eta_line(self.now(ledger, list(active), epoch_seconds))

    def finish(self, *, finished: bool) -> str:
        """What it took against the estimate, stored when the study ``finished`` (every run
        complete, none given up, not stopped); '' when there is nothing to compare."""
        took = time.monotonic() - self._started
        if self._row is None or self.first is None or not finished:
            return ""
        engine, row = self._row
        finish_estimate(engine, row, took_s=took)
        if self.first.total_s is None or self.first.total_s <= 0:
            return f"no estimate was made (nothing timed or probed); took {took:.0f}s"
        line = error_line(self.first.total_s, took)
        if self.first.unknown_runs:
            line += f"; {self.first.unknown_runs} run(s) had no estimate"
        return line


def dry_run_estimate(
    spec: StudySpec,
    epoch_seconds: Mapping[str, tuple[float, int]],
    *,
    complete: set[str],
    pool: DevicePool,
    probe: bool,
    data_root: Path,
) -> StudyEstimate:
    """``ablate run --dry-run``'s estimate on ``pool``'s slots, probing in this process on
    the device and with the threads of the slot a trial would get first."""
    slot = pool.acquire()
    probe_fn = None
    if slot is not None:
        pool.release(slot)
        device = "cuda" if slot.kind == "cuda" else "cpu"
        probe_fn = probe_here(device=device, threads=slot.threads) if probe else None
    planned = grid_trials(spec) if spec.search is None else []
    estimate = RunEstimate(spec, planned, slots=pool.capacity, probe=probe_fn,
                           data_root=data_root)  # fmt: skip
    return estimate.before(Ledger(complete=set(complete)), epoch_seconds)


def sources_text(estimate: StudyEstimate) -> str:
    """What the estimate rests on: '2 cell(s) timed, 1 probed'."""
    names = {
        Basis.TIMED: "timed",
        Basis.FLOPS: "scaled by FLOPs",
        Basis.PROBE: "probed",
        Basis.OTHER_CELLS: "from other cells",
        Basis.UNKNOWN: "unknown",
    }
    counts = {b: sum(1 for c in estimate.cells if c.basis is b) for b in names}
    parts = [f"{n} {names[b]}" for b, n in counts.items() if n]
    return f"cells: {', '.join(parts)}" if parts else "nothing left to run"
