"""The study loop: ask the planner what runs next, claim it, start it on a free slot's worker,
and hand what the worker says to the recorder.

The scheduler process is the only writer of the database and the only one that talks to
Optuna. Rerunning the same command after a power cut, a crash or Ctrl-C continues the study:
complete runs are kept, interrupted ones resume from their last epoch checkpoint.
"""

from __future__ import annotations

import dataclasses
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ablate.db import ensure_schema, get_study, make_engine
from ablate.errors import UsageError
from ablate.scheduler import _ledger
from ablate.scheduler._estimate_run import RunEstimate
from ablate.scheduler._estimate_sources import probe_in_worker
from ablate.scheduler._notify import Notifier
from ablate.scheduler._planner import Planner
from ablate.scheduler._preflight import check_reachable, prepare_data
from ablate.scheduler._progress import RunSummary, Snapshot, snapshot
from ablate.scheduler._provenance import hostname
from ablate.scheduler._recorder import Recorder
from ablate.scheduler._trials import Trials
from ablate.scheduler._workers import Workers
from ablate.scheduler.devices import DevicePool
from ablate.scheduler.status import stored_study
from ablate.spec import (
    StudySpec,
    compare_study,
    grid_trials,
    plugin_refs,
    task_ref,
)


@dataclass(frozen=True)
class RunOptions:
    storage_url: str
    data_root: Path
    checkpoint_root: Path
    log_root: Path
    stale_after_s: float = 120.0
    heartbeat_s: float | None = None  # default: a quarter of stale_after_s, at most 10 s
    poll_s: float = 0.5
    retry_failed: bool = False  # give runs that failed for good in earlier invocations new tries
    new_version: bool = False  # accept a changed study whose finished runs no longer all belong
    fault: str | None = None  # ABLATE_INJECT_FAULT, for the failure tests
    notify: str | None = None  # shell command told when the study ends or stalls (wins)
    probe: bool = True  # time a few steps of models no epoch of the study has timed yet


class StudyRunner:
    def __init__(
        self,
        spec: StudySpec,
        *,
        spec_text: str,
        spec_path: str,
        pool: DevicePool,
        options: RunOptions,
        on_update: Callable[[Snapshot], None] | None = None,
        workers: Workers | None = None,
    ) -> None:
        self.spec, self.pool, self.options = spec, pool, options
        self._spec_text, self._spec_path = spec_text, spec_path
        self._on_update = on_update or (lambda _snapshot: None)
        self._workers = workers or Workers()
        self._events: list[str] = []
        self._trials: Trials | None = None
        self._host = hostname()
        self._message = ""
        self._recorder: Recorder | None = None
        self._new_study = False
        self._plugins = plugin_refs(spec, spec_path)  # what every worker imports
        self._task_ref = task_ref(spec, spec_path)
        planned = grid_trials(spec) if spec.search is None else []
        self.planner = Planner(spec, planned)
        command = options.notify or spec.resources.notify
        self._notifier = Notifier(command, storage_url=options.storage_url,
                                  stale_after_s=options.stale_after_s)  # fmt: skip
        probe = probe_in_worker(pool, self._workers) if options.probe else None
        self._estimate = RunEstimate(spec, planned, slots=pool.capacity, probe=probe,
                                     data_root=options.data_root)  # fmt: skip
        self._estimating = False  # set once the estimate is made and recorded

    # ------------------------------------------------------------------ setup
    def _check(self) -> Engine:
        """Read only: the schema made, and a changed study refused or noted before anything
        of the study is written."""
        engine = make_engine(self.options.storage_url)
        ensure_schema(engine)
        stored = stored_study(engine, self.spec.name)
        self._new_study = stored is None
        if stored is not None:
            change = compare_study(stored[0], self.spec, stored[1])
            if not change.allowed(new_version=self.options.new_version):
                raise UsageError(change.refusal(self._spec_path))
            if change.note():
                self._events.append(change.note())
        return engine

    def _open(self, engine: Engine) -> None:
        """The study row and its Optuna study, created or refreshed (the first writes)."""
        self._recorder = Recorder.open(
            self.spec, url=self.options.storage_url, engine=engine,
            spec_text=self._spec_text, spec_path=self._spec_path,
        )  # fmt: skip
        seconds = _ledger.rows.epoch_seconds_by_cell(engine, self._recorder.study_id)
        self.planner = Planner(self.spec, self.planner.planned, epoch_seconds=seconds)
        self.planner.runs(self._read_ledger())  # the extra seeds asked for so far count
        self._trials = Trials(
            self.spec, spec_path=self._spec_path, options=self.options, pool=self.pool,
            workers=self._workers, recorder=self._recorder, planner=self.planner,
            host=self._host, plugins=self._plugins, task_ref=self._task_ref, events=self._events,
        )  # fmt: skip

    def _complete_already(self, engine: Engine) -> bool:
        """Whether every run of this version is complete (or given up) — read only."""
        if self._new_study:
            return False
        study_id = get_study(engine, self.spec.name).id
        keep = self.planner.reachable_keys if self.spec.search is None else None
        ledger = _ledger.read_ledger(engine, study_id, keep=keep)
        if self.options.retry_failed:
            self.planner.forgive(ledger)
        return self.planner.done(ledger) and not self.planner.gave_up(ledger)

    @property
    def trials(self) -> Trials:
        assert self._trials is not None, "the study is not open yet"
        return self._trials

    @property
    def recorder(self) -> Recorder:
        assert self._recorder is not None, "the study is not open yet"
        return self._recorder

    def _read_ledger(self) -> _ledger.Ledger:
        """The runs of this version of the study (for a grid study, the planned runs; a run
        of an earlier version neither counts nor blocks)."""
        keep = self.planner.reachable_keys if self.spec.search is None else None
        return _ledger.read_ledger(self.recorder.engine, self.recorder.study_id, keep=keep)

    # ------------------------------------------------------------------- loop
    def run(self) -> RunSummary:
        # Workers first: their imports (torch, timm: seconds) overlap opening the database,
        # Optuna and the data preparation.
        self._workers.prespawn(self.pool)
        try:
            engine = self._check()
            if self._complete_already(engine):
                self._workers.close(kill=True)
                self._open(engine)  # refresh what the stored study says (its description…)
                return self._summary(self._read_ledger(), already_complete=True)
            self._message = "preparing data (once; cached for every trial)"
            self._update(_ledger.Ledger())  # nothing is read yet
            prepare_data(self.spec, self.planner.planned, root=self.options.data_root)
            self._message = ""
            # every name and file the study reaches, checked before anything is written
            with_task = (*self._plugins, *([self._task_ref] if self._task_ref else []))
            check_reachable(
                self.spec, self.planner.planned, self.pool, self._workers, plugins=with_task
            )
            self._open(engine)
            ledger = self._recover()
            if self.options.retry_failed:  # earlier failures no longer count against the cap
                self.planner.forgive(ledger)
            self._estimate.start(self.recorder.engine, self.recorder.study_id, ledger,
                                 self.planner.epoch_seconds, host=self._host)  # fmt: skip
            self._estimating = True
        except BaseException:  # e.g. Ctrl-C while generating data: nothing to save yet
            self._workers.close(kill=True)
            if self._new_study and self._recorder is not None:
                self._recorder.forget_if_unstarted(self.spec.name)
            raise
        previous = signal.getsignal(signal.SIGINT)
        try:
            signal.signal(signal.SIGINT, self._on_sigint)
        except ValueError:  # not the main thread (e.g. embedded use): no Ctrl-C handling
            previous = None
        try:  # our handler stays until the last write: a late Ctrl-C must not cut it short
            try:
                self._loop()
            finally:
                self.trials.kill_all()
                self._workers.close()
            return self._summary(self._read_ledger(), already_complete=False)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _loop(self) -> None:
        beat = self.options.heartbeat_s or min(10.0, self.options.stale_after_s / 4)
        last_beat = last_recover = time.monotonic()
        trials = self.trials
        while True:
            ledger = self._read_ledger()
            while not trials.stopping and trials.launch_next(ledger):
                ledger = self._read_ledger()
            if not trials.active:
                if trials.stopping or self.planner.done(ledger):
                    return
                if self.planner.held_elsewhere(ledger, trials.running()):
                    self._message = "waiting for runs other machines hold (taken over if stale)"
                else:
                    self._message = f"waiting for a free device: {self.pool.waiting_reason()}"
            trials.wait(self.options.poll_s if trials.active else 2.0)
            now = time.monotonic()
            if now - last_beat >= beat:
                self.recorder.heartbeat(list(trials.active))
                last_beat = now
            if not trials.active and now - last_recover >= beat:
                self._recover()
                last_recover = now
            marker = (trials.trained, trials.epochs_seen)
            if self._notifier.stall_due(marker, running=bool(trials.active)):
                stalled = self._result(ledger, already_complete=False)
                self._warn(self._notifier.stalled(stalled, running=len(trials.active)))
            self._update(ledger)

    def _recover(self) -> _ledger.Ledger:
        notes = _ledger.recover(
            self.recorder.engine, self.recorder.study, self.recorder.study_id, host=self._host,
            own_rows=set(self.trials.active), stale_after_s=self.options.stale_after_s,
        )  # fmt: skip
        self._events.extend(notes)
        return self._read_ledger()

    def _on_sigint(self, _signum: int, _frame: Any) -> None:
        if self._trials is None:  # still setting up: nothing to stop gently yet
            raise KeyboardInterrupt
        self._trials.stopping += 1
        if self._trials.stopping == 1:
            self._workers.stop.set()
            self._message = (
                "stopping: running trials stop at the next batch and keep their last "
                "epoch checkpoint (Ctrl-C again to kill them now)"
            )
            self._events.append(self._message)
        else:
            self._message = "killing running trials now"
            for active in self._trials.active.values():
                active.process.kill()

    # ----------------------------------------------------------------- status
    def _update(self, ledger: _ledger.Ledger) -> None:
        events = tuple(self._events)
        self._events.clear()  # the list is shared with the trials: empty it in place
        active = list(self._trials.active.values()) if self._trials is not None else []
        eta = self._estimate.eta(ledger, active, self.planner.epoch_seconds) if (
            self._estimating and not self.planner.done(ledger)) else ""  # fmt: skip
        self._on_update(
            snapshot(self.spec.name, self.planner.total(ledger), ledger, active,
                     message=self._message, events=events, phases=self.planner.phases(ledger),
                     eta=eta)
        )  # fmt: skip

    def _summary(self, ledger: _ledger.Ledger, *, already_complete: bool) -> RunSummary:
        summary = self._result(ledger, already_complete=already_complete)
        if self._estimating:
            finished = self.planner.done(ledger) and not summary.gave_up and not summary.stopped
            took = self._estimate.finish(finished=finished)
            summary = dataclasses.replace(summary, estimate=took)
        self._warn(self._notifier.finished(summary))
        self._update(ledger)
        return summary

    def _warn(self, warning: str | None) -> None:
        if warning is not None:  # a hook that failed never fails the study
            self._events.append(warning)

    def _result(self, ledger: _ledger.Ledger, *, already_complete: bool) -> RunSummary:
        gave_up = self.planner.gave_up(ledger)
        return RunSummary(
            study=self.spec.name,
            total=self.planner.total(ledger),
            complete=len(ledger.complete),
            failed=sum(ledger.failures.values()),
            pruned=len(ledger.pruned),
            trained=self._trials.trained if self._trials is not None else 0,
            already_complete=already_complete,
            gave_up=tuple(self.planner.gave_up_text(c, ledger) for c in gave_up),
            stopped=self._trials is not None and self._trials.stopping > 0,
            phases=self.planner.phases(ledger),
        )


def run_study(
    spec: StudySpec,
    *,
    spec_text: str,
    spec_path: str,
    pool: DevicePool,
    options: RunOptions,
    on_update: Callable[[Snapshot], None] | None = None,
    workers: Workers | None = None,
) -> RunSummary:
    """Run (or continue) a study until every run is complete, given up, or the user stops it.

    ``workers``: slot processes already started (``Workers.prespawn``); started here if None.
    """
    if spec.search is None and not grid_trials(spec):
        raise UsageError(f"Study '{spec.name}' has no runs: its grid is empty.")
    return StudyRunner(
        spec, spec_text=spec_text, spec_path=spec_path, pool=pool, options=options,
        on_update=on_update, workers=workers,
    ).run()  # fmt: skip


__all__ = ["RunOptions", "StudyRunner", "run_study"]
