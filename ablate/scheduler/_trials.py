"""The study's trials running in this process's slots: starting one on a free slot's worker,
following what its worker says, and recording how it ends (through the recorder)."""

from __future__ import annotations

import os
import time
from multiprocessing.connection import wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ablate._plugins import CodeRef
from ablate.data._placement import DataPlacement
from ablate.errors import UsageError
from ablate.results import ErrorKind, FitStatus, TrialState
from ablate.scheduler import _ledger
from ablate.scheduler._active import Active, failure_text, pruned_text
from ablate.scheduler._optuna import sample_trial
from ablate.scheduler._planner import Planner, Sample
from ablate.scheduler._provenance import package_versions, user_code, user_diff
from ablate.scheduler._recorder import Recorder
from ablate.scheduler._sizing import Sizer
from ablate.scheduler._workers import Workers
from ablate.scheduler.devices import GIB, DevicePool, Slot
from ablate.spec import ResourceSpec, StudySpec, TrialConfig, cell_key, resolve
from ablate.worker import WorkerTask
from ablate.worker._messages import (
    Allocated,
    AskPrune,
    EpochDone,
    Measured,
    Note,
    PruneAnswer,
    RunTrial,
    TrialDone,
    TrialFailed,
)

if TYPE_CHECKING:
    from ablate.scheduler._runner import RunOptions


def placement_of(resources: ResourceSpec) -> DataPlacement:
    """The study's data placement and memory caps, in bytes, for its workers."""

    def nbytes(gb: float | None) -> int | None:
        return None if gb is None else int(gb * GIB)

    return DataPlacement(
        requested=resources.data_placement,
        gpu_cap_bytes=nbytes(resources.gpu_memory_gb),
        host_cap_bytes=nbytes(resources.host_memory_gb),
    )


class Trials:
    """The trials this scheduler runs now (``active``, by trial row id)."""

    def __init__(
        self, spec: StudySpec, *, spec_path: str, options: RunOptions, pool: DevicePool,
        workers: Workers, recorder: Recorder, planner: Planner, host: str,
        plugins: tuple[CodeRef, ...], task_ref: CodeRef | None, events: list[str],
    ) -> None:  # fmt: skip
        self.spec, self._spec_path, self.options = spec, spec_path, options
        self.pool, self._workers, self.recorder, self.planner = pool, workers, recorder, planner
        self._host, self._plugins, self._task_ref = host, plugins, task_ref
        self.events = events  # the runner's: shown in the live view
        self._sizer = Sizer(
            spec, engine=recorder.engine, study_id=recorder.study_id,
            data_root=options.data_root, pool=pool,
        )  # fmt: skip
        self.active: dict[int, Active] = {}
        self.trained = 0  # trials started by this invocation
        self.epochs_seen = 0  # epochs its trials reported (the stall watch's progress)
        self.stopping = 0  # Ctrl-C presses so far

    def running(self) -> set[str]:
        return {a.run_key for a in self.active.values()}

    def launch_next(self, ledger: _ledger.Ledger) -> bool:
        """Start the next run on a slot with room for it; False when there is none to start
        now, or no slot has room for it yet. A run that can fit no device is refused at once
        (a usage error, never retried), and the next one is tried."""
        while (picked := self.planner.next(ledger, self.running())) is not None:
            config = self._sized_config(picked, ledger)
            need = self._sizer.need(config) if self.pool.has_gpus else None
            if need is not None:
                trial = "A sampled run" if isinstance(picked, Sample) else "Run"
                why = self.pool.refusal(need, trial=f"{trial} [{Active.text(config)}]")
                if why is not None:
                    self._refuse(picked, config, ledger, why)
                    continue
            if (slot := self.pool.acquire(need)) is None:
                return False
            if self._launch(slot, picked, ledger):
                return True
            self.pool.release(slot)  # another process claimed it first: the next one
        return False

    def _sized_config(self, picked: TrialConfig | Sample, ledger: _ledger.Ledger) -> TrialConfig:
        """The config whose memory the run needs: a sample is not drawn before there is room
        for it, so it is sized by the study's fixed settings."""
        if isinstance(picked, Sample):
            return resolve(self.spec, seed=self.spec.seeds[0], cell={})
        return self.planner.batch_for(picked, ledger)

    def _refuse(
        self, picked: TrialConfig | Sample, config: TrialConfig, ledger: _ledger.Ledger, why: str
    ) -> None:
        """Record a run no device can hold as failed for good (a usage error)."""
        if isinstance(picked, Sample):  # every sample would be refused alike
            raise UsageError(why)
        attempt = ledger.attempts[picked.run_key] + 1
        row_id = self.recorder.claim(
            run_key=picked.run_key, cell_key=cell_key(picked.cell), cell=picked.cell,
            params=picked.params, seed=picked.seed, attempt=attempt, phase=picked.phase,
            config=config.model_dump(mode="json"), host=self._host, pid=os.getpid(),
            versions=package_versions(), batch_size=config.train.batch_size,
        )  # fmt: skip
        ledger.attempts[picked.run_key] += 1
        if row_id is None:  # another process holds it: it is theirs to refuse
            ledger.live.add(picked.run_key)
            return
        trial = self.recorder.trial_for(self.spec, picked)
        self.recorder.started(row_id, trial)
        self.recorder.end(
            row_id, trial, state=TrialState.FAILED, error=why, error_kind=ErrorKind.USAGE
        )
        ledger.failures[picked.run_key] += 1
        ledger.usage[picked.run_key] = why
        self.events.append(f"trial {trial.number} refused: {why}")

    def _launch(self, slot: Slot, picked: TrialConfig | Sample, ledger: _ledger.Ledger) -> bool:
        """Start ``picked`` on ``slot``; False when another process claimed it first."""
        trial = None
        if isinstance(picked, Sample):
            trial, cell, params = sample_trial(self.recorder.study, self.spec)
            picked = resolve(self.spec, seed=int(cell.pop("seed")), cell=cell, params=params)
        config = self.planner.batch_for(picked, ledger)
        attempt = ledger.attempts[picked.run_key] + 1
        log_path = self.options.log_root / self.spec.name / f"{picked.run_key}-a{attempt}.log"
        row_id = self.recorder.claim(
            run_key=picked.run_key, cell_key=cell_key(picked.cell), cell=picked.cell,
            params=picked.params, seed=picked.seed, attempt=attempt, phase=picked.phase,
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
            return False
        try:
            trial = trial or self.recorder.trial_for(self.spec, picked)
            self.recorder.started(row_id, trial)
        except BaseException:
            self.recorder.unclaim(row_id)  # no phantom 'running' row is left
            raise
        self._start_worker(slot, trial, row_id, picked.run_key, config, log_path)
        return True

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
            prunable=self._prunable(config),
            plugins=self._plugins, task_ref=self._task_ref,
            placement=placement_of(self.spec.resources),
        )  # fmt: skip
        worker = self._workers.get(slot)
        worker.conn.send(RunTrial(task))
        self.active[row_id] = Active(slot, worker.process, worker.conn, trial, row_id, config)
        self.trained += 1
        verb = "resuming" if Path(task.checkpoint_path).exists() else "started"
        self.events.append(f"{verb} trial {trial.number} [{Active.text(config)}] on {slot.label}")

    def _prunable(self, config: TrialConfig) -> bool:
        """A search's own trials may be pruned; a confirmation run always trains to the end."""
        search = self.spec.search
        return search is not None and search.pruner.kind != "none" and not config.phase

    def retire(self, active: Active, *, worker_exits: bool) -> None:
        """The trial is over: free its slot (and forget its worker if that process ends)."""
        self.active.pop(active.row_id, None)
        if worker_exits:
            self._workers.drop(active.slot)
        self.pool.release(active.slot)

    # --------------------------------------------------------------- messages
    def handle(self, active: Active, message: Any) -> None:
        match message:
            case Allocated():
                self.pool.mark_allocated(active.slot)
            case Measured(nbytes, _data_path):
                if nbytes is not None:
                    self.pool.measured(active.slot, nbytes)
            case EpochDone(result, replayed):
                self.epochs_seen += 1
                self.recorder.epoch(active.row_id, result)
                if (note := active.epoch_done(result, replayed=replayed)) is not None:
                    self.events.append(note)
                if not replayed:
                    self.planner.timed_epoch(active.config, result.seconds)
            case Note(text):
                self.events.append(f"trial {active.number}: {text}")
            case AskPrune(epoch, value):
                active.trial.report(value, epoch)
                active.conn.send(PruneAnswer(active.trial.should_prune()))
            case TrialDone(result, device_name):
                self._finish(active, result, device_name)
                self.retire(active, worker_exits=False)
            case TrialFailed(kind, trace):
                text = failure_text(kind, trace, halve=self.spec.train.halve_batch_on_oom)
                self._fail(active, TrialState.FAILED, text, kind)
                self.retire(active, worker_exits=True)  # a failed trial's process exits

    def _finish(self, active: Active, result: Any, device_name: str) -> None:
        active.finished = True
        if result.status == FitStatus.STOPPED:
            reason = "stopped by Ctrl-C; resumes from its last epoch checkpoint"
            self._fail(active, TrialState.INTERRUPTED, reason)
            return
        if result.status == FitStatus.PRUNED:
            reason = pruned_text(active.epoch)
            self.recorder.end(active.row_id, active.trial, state=TrialState.PRUNED, error=reason)
            self.events.append(f"trial {active.number} {reason}")
            return
        device = active.slot.label if device_name == "cpu" else device_name
        outcome = self.recorder.complete(active.row_id, active.trial, result, device=device)
        if not outcome.stored:
            self.events.append(f"trial {active.number} finished, not stored: {outcome.reason}")
            return
        self.events.append(active.completed_text(result, self.spec.objective.metric))

    def _fail(
        self, active: Active, state: TrialState, error: str, kind: ErrorKind = ErrorKind.NONE
    ) -> None:
        active.finished = True
        self.recorder.end(active.row_id, active.trial, state=state, error=error, error_kind=kind)
        self.events.append(f"trial {active.number} {state}: {error.splitlines()[0]}")

    def reap(self, active: Active) -> None:
        """The worker exited: drain its pipe; without a result it died (segfault, OOM kill…)."""
        try:
            while active.conn.poll():
                self.handle(active, active.conn.recv())
        except (EOFError, OSError):
            pass
        active.process.join(timeout=5)
        if not active.finished:
            if self.stopping >= 2:
                reason = "killed by a second Ctrl-C; resumes from its last epoch checkpoint"
                self._fail(active, TrialState.INTERRUPTED, reason)
            else:
                reason = f"{active.death()}; see its log {self.recorder.log_path(active.row_id)}"
                self._fail(active, TrialState.FAILED, reason, ErrorKind.DIED)
        self.retire(active, worker_exits=True)

    def wait(self, timeout: float) -> None:
        if not self.active:
            time.sleep(timeout)
            return
        waitables: dict[Any, Active] = {}
        for active in self.active.values():
            waitables[active.conn] = active
            waitables[active.process.sentinel] = active
        for ready in wait(list(waitables), timeout=timeout):
            active = waitables[ready]
            if active.row_id not in self.active:
                continue
            if ready is active.conn:
                try:
                    self.handle(active, active.conn.recv())
                except (EOFError, OSError):
                    self.reap(active)
            elif not active.conn.poll():
                self.reap(active)

    def kill_all(self) -> None:
        """End every running trial now (the study is over or killed); record how each ended."""
        for active in list(self.active.values()):
            active.process.kill()
            self.reap(active)
