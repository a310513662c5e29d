"""The study loop: ask the planner what runs next, claim it, start it on a free slot's worker,
and hand what the worker says to the recorder.

The scheduler process is the only writer of the database and the only one that talks to
Optuna. Rerunning the same command after a power cut, a crash or Ctrl-C continues the study:
complete runs are kept, interrupted ones resume from their last epoch checkpoint.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ablate.db import ensure_schema, get_study, make_engine
from ablate.errors import UsageError
from ablate.results import ErrorKind, FitStatus, TrialState
from ablate.scheduler import _ledger
from ablate.scheduler._active import Active, failure_text, pruned_text
from ablate.scheduler._optuna import sample_trial
from ablate.scheduler._planner import Planner, Sample
from ablate.scheduler._preflight import check_reachable, prepare_data
from ablate.scheduler._progress import RunSummary, Snapshot, snapshot
from ablate.scheduler._provenance import hostname, package_versions, user_code, user_diff
from ablate.scheduler._recorder import Recorder
from ablate.scheduler._workers import Workers
from ablate.scheduler.devices import DevicePool, Slot
from ablate.scheduler.status import stored_study
from ablate.spec import (
    StudySpec,
    TrialConfig,
    cell_key,
    compare_study,
    grid_trials,
    plugin_refs,
    resolve,
    task_ref,
)
from ablate.worker import WorkerTask
from ablate.worker._messages import (
    Allocated,
    AskPrune,
    EpochDone,
    Note,
    PruneAnswer,
    RunTrial,
    TrialDone,
    TrialFailed,
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
        self._active: dict[int, Active] = {}
        self._workers = workers or Workers()
        self._events: list[str] = []
        self._stopping = 0
        self._trained = 0
        self._host = hostname()
        self._message = ""
        self._recorder: Recorder | None = None
        self._new_study = False
        self._plugins = plugin_refs(spec, spec_path)  # what every worker imports
        self._task_ref = task_ref(spec, spec_path)
        planned = grid_trials(spec) if spec.search is None else []
        self.planner = Planner(spec, planned)

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

    def _complete_already(self, engine: Engine) -> bool:
        """Whether every run of this version is complete (or given up) — read only."""
        if self._new_study:
            return False
        study_id = get_study(engine, self.spec.name).id
        keep = {c.run_key for c in self.planner.planned} if self.spec.search is None else None
        ledger = _ledger.read_ledger(engine, study_id, keep=keep)
        if self.options.retry_failed:
            self.planner.forgive(ledger)
        return self.planner.done(ledger) and not self.planner.gave_up(ledger)

    @property
    def recorder(self) -> Recorder:
        assert self._recorder is not None, "the study is not open yet"
        return self._recorder

    def _read_ledger(self) -> _ledger.Ledger:
        """The runs of this version of the study (for a grid study, the planned runs; a run
        of an earlier version neither counts nor blocks)."""
        keep = {c.run_key for c in self.planner.planned} if self.spec.search is None else None
        return _ledger.read_ledger(self.recorder.engine, self.recorder.study_id, keep=keep)

    # ----------------------------------------------------------------- launch
    def _running(self) -> set[str]:
        return {a.run_key for a in self._active.values()}

    def _launch(self, slot: Slot, ledger: _ledger.Ledger) -> bool:
        """Start the next run on ``slot``; False when there is none to start now."""
        while (picked := self.planner.next(ledger, self._running())) is not None:
            trial = None
            if isinstance(picked, Sample):
                trial, cell, params = sample_trial(self.recorder.study, self.spec)
                picked = resolve(self.spec, seed=int(cell.pop("seed")), cell=cell, params=params)
            config = self.planner.batch_for(picked, ledger)
            attempt = ledger.attempts[picked.run_key] + 1
            log_path = self.options.log_root / self.spec.name / f"{picked.run_key}-a{attempt}.log"
            row_id = self.recorder.claim(
                run_key=picked.run_key, cell_key=cell_key(picked.cell), cell=picked.cell,
                params=picked.params, seed=picked.seed, attempt=attempt,
                config=config.model_dump(mode="json"), host=self._host, pid=os.getpid(),
                device=slot.label, versions=package_versions(),
                git_commit=user_code(Path(self._spec_path)),
                git_diff=user_diff(Path(self._spec_path)),
                batch_size=config.train.batch_size, threads=slot.threads, log_path=str(log_path),
            )  # fmt: skip
            if row_id is None:  # another process claimed it first
                if trial is not None:
                    self.recorder.end_sampled(trial)
                ledger.live.add(picked.run_key)
                continue
            try:
                trial = trial or self.recorder.trial_for(self.spec, picked)
                self.recorder.started(row_id, trial)
            except BaseException:
                self.recorder.unclaim(row_id)  # no phantom 'running' row is left
                raise
            self._start_worker(slot, trial, row_id, picked.run_key, config, log_path)
            return True
        return False

    def _start_worker(
        self, slot: Slot, trial: Any, row_id: int, run_key: str, config: TrialConfig, log: Path
    ) -> None:
        folder = self.options.checkpoint_root / self.spec.name
        keep_best = self.spec.resources.keep_best_weights
        task = WorkerTask(
            config=config, device="cuda:0" if slot.kind == "cuda" else "cpu",
            data_root=str(self.options.data_root), checkpoint_path=str(folder / f"{run_key}.pt"),
            best_path=str(folder / f"{run_key}.best.pt") if keep_best else None,
            log_path=str(log), fault=self.options.fault,
            prunable=self.spec.search is not None and self.spec.search.pruner.kind != "none",
            plugins=self._plugins, task_ref=self._task_ref,
        )  # fmt: skip
        worker = self._workers.get(slot)
        worker.conn.send(RunTrial(task))
        self._active[row_id] = Active(slot, worker.process, worker.conn, trial, row_id, config)
        self._trained += 1
        verb = "resuming" if Path(task.checkpoint_path).exists() else "started"
        self._event(f"{verb} trial {trial.number} [{Active.text(config)}] on {slot.label}")

    def _retire(self, active: Active, *, worker_exits: bool) -> None:
        """The trial is over: free its slot (and forget its worker if that process ends)."""
        self._active.pop(active.row_id, None)
        if worker_exits:
            self._workers.drop(active.slot)
        self.pool.release(active.slot)

    # --------------------------------------------------------------- messages
    def _handle(self, active: Active, message: Any) -> None:
        match message:
            case Allocated():
                self.pool.mark_allocated(active.slot)
            case EpochDone(result, replayed):
                self.recorder.epoch(active.row_id, result)
                if (note := active.epoch_done(result, replayed=replayed)) is not None:
                    self._event(note)
                if not replayed:
                    self.planner.timed_epoch(active.config, result.seconds)
            case Note(text):
                self._event(f"trial {active.number}: {text}")
            case AskPrune(epoch, value):
                active.trial.report(value, epoch)
                active.conn.send(PruneAnswer(active.trial.should_prune()))
            case TrialDone(result, device_name):
                self._finish(active, result, device_name)
                self._retire(active, worker_exits=False)
            case TrialFailed(kind, trace):
                text = failure_text(kind, trace, halve=self.spec.train.halve_batch_on_oom)
                self._fail(active, TrialState.FAILED, text, kind)
                self._retire(active, worker_exits=True)  # a failed trial's process exits

    def _finish(self, active: Active, result: Any, device_name: str) -> None:
        active.finished = True
        if result.status == FitStatus.STOPPED:
            reason = "stopped by Ctrl-C; resumes from its last epoch checkpoint"
            self._fail(active, TrialState.INTERRUPTED, reason)
            return
        if result.status == FitStatus.PRUNED:
            reason = pruned_text(active.epoch)
            self.recorder.end(active.row_id, active.trial, state=TrialState.PRUNED, error=reason)
            self._event(f"trial {active.number} {reason}")
            return
        device = active.slot.label if device_name == "cpu" else device_name
        outcome = self.recorder.complete(active.row_id, active.trial, result, device=device)
        if not outcome.stored:
            self._event(f"trial {active.number} finished, not stored: {outcome.reason}")
            return
        self._event(active.completed_text(result, self.spec.objective.metric))

    def _fail(
        self, active: Active, state: TrialState, error: str, kind: ErrorKind = ErrorKind.NONE
    ) -> None:
        active.finished = True
        self.recorder.end(active.row_id, active.trial, state=state, error=error, error_kind=kind)
        self._event(f"trial {active.number} {state}: {error.splitlines()[0]}")

    def _reap(self, active: Active) -> None:
        """The worker exited: drain its pipe; without a result it died (segfault, OOM kill…)."""
        try:
            while active.conn.poll():
                self._handle(active, active.conn.recv())
        except (EOFError, OSError):
            pass
        active.process.join(timeout=5)
        if not active.finished:
            if self._stopping >= 2:
                reason = "killed by a second Ctrl-C; resumes from its last epoch checkpoint"
                self._fail(active, TrialState.INTERRUPTED, reason)
            else:
                reason = f"{active.death()}; see its log {self.recorder.log_path(active.row_id)}"
                self._fail(active, TrialState.FAILED, reason, ErrorKind.DIED)
        self._retire(active, worker_exits=True)

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
                for active in list(self._active.values()):
                    active.process.kill()
                    self._reap(active)
                self._workers.close()
            return self._summary(self._read_ledger(), already_complete=False)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _loop(self) -> None:
        beat = self.options.heartbeat_s or min(10.0, self.options.stale_after_s / 4)
        last_beat = last_recover = time.monotonic()
        while True:
            ledger = self._read_ledger()
            while not self._stopping and (slot := self.pool.acquire()) is not None:
                if not self._launch(slot, ledger):
                    self.pool.release(slot)
                    break
                ledger = self._read_ledger()
            if not self._active:
                if self._stopping or self.planner.done(ledger):
                    return
                if self.planner.held_elsewhere(ledger, self._running()):
                    self._message = "waiting for runs other machines hold (taken over if stale)"
                else:
                    self._message = f"waiting for a free device: {self.pool.waiting_reason()}"
            self._wait(self.options.poll_s if self._active else 2.0)
            now = time.monotonic()
            if now - last_beat >= beat:
                self.recorder.heartbeat(list(self._active))
                last_beat = now
            if not self._active and now - last_recover >= beat:
                self._recover()
                last_recover = now
            self._update(ledger)

    def _wait(self, timeout: float) -> None:
        if not self._active:
            time.sleep(timeout)
            return
        waitables: dict[Any, Active] = {}
        for active in self._active.values():
            waitables[active.conn] = active
            waitables[active.process.sentinel] = active
        for ready in wait(list(waitables), timeout=timeout):
            active = waitables[ready]
            if active.row_id not in self._active:
                continue
            if ready is active.conn:
                try:
                    self._handle(active, active.conn.recv())
                except (EOFError, OSError):
                    self._reap(active)
            elif not active.conn.poll():
                self._reap(active)

    def _recover(self) -> _ledger.Ledger:
        notes = _ledger.recover(
            self.recorder.engine, self.recorder.study, self.recorder.study_id, host=self._host,
            own_rows=set(self._active), stale_after_s=self.options.stale_after_s,
        )  # fmt: skip
        self._events.extend(notes)
        return self._read_ledger()

    def _on_sigint(self, _signum: int, _frame: Any) -> None:
        self._stopping += 1
        if self._stopping == 1:
            self._workers.stop.set()
            self._message = (
                "stopping: running trials stop at the next batch and keep their last "
                "epoch checkpoint (Ctrl-C again to kill them now)"
            )
            self._event(self._message)
        else:
            self._message = "killing running trials now"
            for active in self._active.values():
                active.process.kill()

    # ----------------------------------------------------------------- status
    def _event(self, text: str) -> None:
        self._events.append(text)

    def _update(self, ledger: _ledger.Ledger) -> None:
        events, self._events = tuple(self._events), []
        self._on_update(
            snapshot(self.spec.name, self.planner.target, ledger, self._active.values(),
                     message=self._message, events=events)
        )  # fmt: skip

    def _summary(self, ledger: _ledger.Ledger, *, already_complete: bool) -> RunSummary:
        self._update(ledger)
        gave_up = self.planner.gave_up(ledger)
        return RunSummary(
            study=self.spec.name,
            total=self.planner.target,
            complete=len(ledger.complete),
            failed=sum(ledger.failures.values()),
            pruned=len(ledger.pruned),
            trained=self._trained,
            already_complete=already_complete,
            gave_up=tuple(self.planner.gave_up_text(c, ledger) for c in gave_up),
            stopped=self._stopping > 0,
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
