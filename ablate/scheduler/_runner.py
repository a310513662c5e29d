"""The study loop: claim runs, start workers on free slots, record what they say.

The scheduler process is the only writer of the database and the only one that talks to
Optuna. Rerunning the same command after a power cut, a crash or Ctrl-C continues the study:
complete runs are kept, interrupted ones resume from their last epoch checkpoint.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from ablate.data import ensure_dataset
from ablate.db import (
    EpochValues,
    ErrorKind,
    SplitMetrics,
    database_lock,
    delete_study,
    ensure_schema,
    make_engine,
    session_scope,
    study_trials,
    writer,
)
from ablate.errors import AblateError, UsageError
from ablate.scheduler import _ledger
from ablate.scheduler._optuna import all_distributions, fixed_trial, open_study, sample_trial
from ablate.scheduler._progress import RunSummary, SlotView, Snapshot
from ablate.scheduler._provenance import hostname, package_versions, user_code
from ablate.scheduler._recorder import Recorder
from ablate.scheduler._workers import Workers
from ablate.scheduler.devices import DevicePool, Slot
from ablate.scheduler.status import stored_study
from ablate.spec import (
    StudySpec,
    TrialConfig,
    backbones_reached,
    cell_key,
    cell_text,
    compare_study,
    grid_trials,
    resolve,
)
from ablate.worker import WorkerTask


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


@dataclass
class _Active:
    slot: Slot
    process: Any
    conn: Connection
    trial: optuna.Trial
    row_id: int
    config: TrialConfig
    run_key: str
    epochs: int
    started: float = field(default_factory=time.monotonic)
    epoch: int = 0
    epoch_seconds: list[float] = field(default_factory=list)
    val_accuracy: float | None = None
    finished: bool = False
    replayed: int = 0  # epochs replayed from a checkpoint (a resumed trial)


def _cell_text(config: TrialConfig) -> str:
    return cell_text({**config.cell, **config.params})


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
        self._active: dict[int, _Active] = {}
        self._workers = workers or Workers()
        self._events: list[str] = []
        self._gave_up: set[str] = set()
        self._stopping = 0
        self._trained = 0
        self._host = hostname()
        self._message = ""
        self._forgiven: Counter[str] = Counter()
        self._epoch_seconds: dict[str, tuple[float, int]] = {}  # cell key -> (sum, epochs)

    # ----------------------------------------------------------------- setup
    def _open(self) -> None:
        self.engine = make_engine(self.options.storage_url)
        ensure_schema(self.engine)
        self._planned = grid_trials(self.spec) if self.spec.kind == "grid" else []
        self._check_change()  # before anything is written
        # Serialised across processes and hosts: the study row and Optuna's tables are created
        # once, and two runners starting together would both try.
        with database_lock(self.engine):
            with session_scope(self.engine) as session:
                self.study_id = writer.upsert_study(
                    session,
                    name=self.spec.name,
                    description=self.spec.description,
                    kind=self.spec.kind,
                    spec_json=self.spec.model_dump(mode="json"),
                    spec_text=self._spec_text,
                    spec_path=self._spec_path,
                )
            storage = optuna.storages.RDBStorage(
                self.options.storage_url, engine_kwargs={"pool_pre_ping": True}
            )
            self.study = open_study(self.spec, storage)
        self._recorder = Recorder(self.engine, self.study)
        self._distributions = all_distributions(self.spec)
        self._epoch_seconds = _ledger.epoch_seconds_by_cell(self.engine, self.study_id)

    def _check_change(self) -> None:
        """Refuse, or note, a study file that differs from the study that last ran."""
        stored = stored_study(self.engine, self.spec.name)
        self._new_study = stored is None
        if stored is None:
            return
        old, finished = stored
        change = compare_study(old, self.spec, finished)
        if not change.allowed(new_version=self.options.new_version):
            raise UsageError(change.refusal(self._spec_path))
        if change.note():
            self._event(change.note())

    def _forget_if_unstarted(self) -> None:
        """A study this invocation created and that never got a trial (a typo found by the
        preflight, Ctrl-C during data preparation) leaves no empty row behind."""
        if not getattr(self, "_new_study", False) or not hasattr(self, "study_id"):
            return
        with contextlib.suppress(AblateError):
            if not study_trials(self.engine, self.spec.name):
                delete_study(self.options.storage_url, self.spec.name)

    def _read_ledger(self) -> _ledger.Ledger:
        """The database's view of the runs of this version of the study (for a grid study,
        the planned runs; a run of an earlier version neither counts nor blocks)."""
        keep = {c.run_key for c in self._planned} if self.spec.search is None else None
        return _ledger.read_ledger(self.engine, self.study_id, keep=keep)

    # ------------------------------------------------------------------ plan
    def _target(self) -> int:
        return len(self._planned) if self.spec.search is None else self.spec.search.n_trials

    def _batch_for(self, config: TrialConfig, ledger: _ledger.Ledger) -> TrialConfig:
        ooms = ledger.ooms[config.run_key]
        if not ooms or not self.spec.train.halve_batch_on_oom:
            return config
        batch = max(1, config.train.batch_size // (2**ooms))
        train = config.train.model_copy(update={"batch_size": batch})
        return config.model_copy(update={"train": train})

    def _exhausted(self, run_key: str, ledger: _ledger.Ledger) -> bool:
        failures = ledger.failures[run_key] - self._forgiven[run_key]
        if run_key in ledger.usage and failures > 0:
            return True  # deterministic: the same config fails the same way every time
        return failures > self.spec.resources.max_retries

    def _next(self, ledger: _ledger.Ledger) -> tuple[TrialConfig, optuna.Trial | None] | None:
        """The next run to start: an unfinished planned/failed run, or a new sample."""
        mine = {a.run_key for a in self._active.values()}
        busy = ledger.complete | ledger.live | mine | ledger.pruned
        if self.spec.search is None:
            pending = []
            for config in self._planned:
                if config.run_key in busy:
                    continue
                if self._exhausted(config.run_key, ledger):
                    self._gave_up.add(config.run_key)
                    continue
                pending.append(config)
            return (self._longest_of_first_seed(pending), None) if pending else None
        for run_key, params in ledger.last_params.items():  # retries of searched runs first
            if run_key in busy or self._exhausted(run_key, ledger):
                continue
            cell = {k: v for k, v in params.items() if k in self.spec.grid}
            searched = {k: v for k, v in params.items() if k in self.spec.search.params}
            return resolve(self.spec, seed=int(params["seed"]), cell=cell, params=searched), None
        finished = len(ledger.complete) + len(ledger.pruned)
        if finished + len(ledger.live) + len(mine) >= self.spec.search.n_trials:
            return None
        trial, cell, params = sample_trial(self.study, self.spec)
        seed = int(cell.pop("seed"))
        return resolve(self.spec, seed=seed, cell=cell, params=params), trial

    def _longest_of_first_seed(self, pending: list[TrialConfig]) -> TrialConfig:
        """Seed by seed, so that a first full table comes early; within a seed the run
        expected to take longest, so that the cheap ones fill the gaps at the end instead of
        one long run finishing alone (bench_scheduler's mixed study: the two slots now end
        within a second of each other). A cell not timed yet counts as longest: it runs early
        and teaches us its cost. Ties keep the grid order."""
        wave = [c for c in pending if c.seed == pending[0].seed]  # planned is seed-major
        return max(wave, key=self._expected_seconds)

    def _expected_seconds(self, config: TrialConfig) -> float:
        total, count = self._epoch_seconds.get(cell_key(config.cell), (0.0, 0))
        return total / count * config.train.epochs if count else float("inf")

    def _timed_epoch(self, config: TrialConfig, seconds: float) -> None:
        key = cell_key(config.cell)
        total, count = self._epoch_seconds.get(key, (0.0, 0))
        self._epoch_seconds[key] = (total + seconds, count + 1)

    # ---------------------------------------------------------------- launch
    def _launch(self, slot: Slot, ledger: _ledger.Ledger) -> bool:
        while True:
            picked = self._next(ledger)
            if picked is None:
                return False
            planned, trial = picked
            config = self._batch_for(planned, ledger)
            attempt = ledger.attempts[planned.run_key] + 1
            log_path = self.options.log_root / self.spec.name / f"{planned.run_key}-a{attempt}.log"
            row_id = _ledger.claim(
                self.engine,
                study_id=self.study_id,
                number=-1,
                run_key=planned.run_key,
                cell_key=cell_key(planned.cell),
                cell=planned.cell,
                params=planned.params,
                seed=planned.seed,
                attempt=attempt,
                config=config.model_dump(mode="json"),
                host=self._host,
                pid=os.getpid(),
                device=slot.label,
                versions=package_versions(),
                git_commit=user_code(Path(self._spec_path)),
                batch_size=config.train.batch_size,
                threads=slot.threads,
                log_path=str(log_path),
            )
            if row_id is None:  # another process claimed it first
                if trial is not None:
                    self._recorder.tell(trial, state=TrialState.FAIL)
                ledger.live.add(planned.run_key)
                continue
            try:
                trial = trial or self._fixed_trial(planned)
                with session_scope(self.engine) as session:
                    writer.set_trial_fields(
                        session, row_id, number=trial.number, optuna_trial_id=trial._trial_id
                    )
            except BaseException:
                _ledger.unclaim(self.engine, row_id)  # no phantom 'running' row is left
                raise
            self._start_worker(slot, trial, row_id, planned.run_key, config, log_path)
            return True

    def _fixed_trial(self, planned: TrialConfig) -> optuna.Trial:
        """The Optuna twin of a grid run, or of a retried searched run.

        A grid run's cell and seed are user attributes, not Optuna parameters: Optuna fixes a
        categorical parameter's choices for good, so a study could never grow by a seed or a
        grid value. A retried searched run repeats its sampled parameters exactly."""
        if self.spec.search is None:
            attrs = {"cell": planned.cell, "seed": planned.seed, "run_key": planned.run_key}
            return fixed_trial(self.study, {}, {}, user_attrs=attrs)
        params = {**planned.cell, "seed": planned.seed, **planned.params}
        return fixed_trial(self.study, params, {k: self._distributions[k] for k in params})

    def _start_worker(
        self,
        slot: Slot,
        trial: optuna.Trial,
        row_id: int,
        run_key: str,
        config: TrialConfig,
        log_path: Path,
    ) -> None:
        task = WorkerTask(
            config=config.model_dump(mode="json"),
            device="cuda:0" if slot.kind == "cuda" else "cpu",
            data_root=str(self.options.data_root),
            checkpoint_path=str(self.options.checkpoint_root / self.spec.name / f"{run_key}.pt"),
            best_path=(
                str(self.options.checkpoint_root / self.spec.name / f"{run_key}.best.pt")
                if self.spec.resources.keep_best_weights
                else None
            ),
            log_path=str(log_path),
            fault=self.options.fault,
            prunable=not isinstance(self.study.pruner, optuna.pruners.NopPruner),
        )
        worker = self._workers.get(slot)
        worker.conn.send(("task", task))
        self._active[row_id] = _Active(
            slot=slot,
            process=worker.process,
            conn=worker.conn,
            trial=trial,
            row_id=row_id,
            config=config,
            run_key=run_key,
            epochs=config.train.epochs,
        )
        self._trained += 1
        verb = "resuming" if Path(task.checkpoint_path).exists() else "started"
        self._event(
            f"{verb} trial {trial.number} [{_cell_text(config)}, seed {config.seed}] "
            f"on {slot.label}"
        )

    def _retire(self, active: _Active, *, worker_exits: bool) -> None:
        """The trial is over: free its slot (and forget its worker if that process ends)."""
        self._active.pop(active.row_id, None)
        if worker_exits:
            self._workers.drop(active.slot)
        self.pool.release(active.slot)

    # -------------------------------------------------------------- messages
    def _handle(self, active: _Active, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "allocated":
            self.pool.mark_allocated(active.slot)
        elif kind == "epoch":
            values, replayed = message[1], message[2]
            self._recorder.epoch(active.row_id, EpochValues(**values))
            active.epoch, active.val_accuracy = values["epoch"], values["val_accuracy"]
            if replayed:
                active.replayed = values["epoch"]
            elif active.replayed and not active.epoch_seconds:
                self._event(
                    f"trial {active.trial.number} resumed from epoch {active.replayed} "
                    "(its last checkpoint)"
                )
            if not replayed:
                active.epoch_seconds.append(values["seconds"])
                self._timed_epoch(active.config, values["seconds"])
        elif kind == "note":
            self._event(f"trial {active.trial.number}: {message[1]}")
        elif kind == "prune?":
            _, epoch, value = message
            active.trial.report(value, epoch)
            active.conn.send(("prune", active.trial.should_prune()))
        elif kind == "result":
            self._finish(active, message[1], message[2])
            self._retire(active, worker_exits=False)
        elif kind == "error":
            _, error_kind, trace = message
            error_kind = ErrorKind(error_kind)
            text = trace.strip().splitlines()[-1] if trace.strip() else str(error_kind)
            if error_kind == ErrorKind.OOM:
                text = "CUDA out of memory" + (
                    "; retrying with the batch halved"
                    if self.spec.train.halve_batch_on_oom
                    else ""
                )
            elif error_kind == ErrorKind.USAGE:
                text = (
                    f"{text.removeprefix('ablate.errors.')} (a problem in the study: not retried)"
                )
            self._fail(active, "failed", f"{text}\n\n{trace}", error_kind)
            self._retire(active, worker_exits=True)  # a failed trial's process exits

    def _finish(self, active: _Active, result: dict[str, Any], device_name: str) -> None:
        active.finished = True
        status = result["status"]
        if status == "stopped":
            self._fail(
                active, "interrupted", "stopped by Ctrl-C; resumes from its last epoch checkpoint"
            )
            return
        if status == "pruned":
            self._recorder.end(
                active.row_id,
                active.trial,
                state="pruned",
                error=f"pruned after epoch {active.epoch}",
            )
            self._event(f"trial {active.trial.number} pruned after epoch {active.epoch}")
            return
        splits = [
            SplitMetrics(split=name, epoch=result["best_epoch"], **result[name])
            for name in ("val", "test")
            if result[name] is not None
        ]
        outcome = self._recorder.complete(
            active.row_id,
            active.trial,
            best_epoch=result["best_epoch"],
            objective=result["objective"],
            splits=splits,
            n_params=result["n_params"],
            flops=result["flops"],
            batch_size=result["batch_size"],
            device=f"{active.slot.label}" if device_name == "cpu" else device_name,
            resumed_from_epoch=result["resumed_from_epoch"],
        )
        if not outcome.stored:
            self._event(f"trial {active.trial.number} finished, not stored: {outcome.reason}")
            return
        # the validation objective, never a test number: a search chooses by it, and test
        # numbers belong to the table of complete results
        metric = self.spec.objective.metric
        value = result["objective"]
        shown = f"{value:.4f}" if metric.endswith("loss") else f"{100 * value:.2f} %"
        self._event(
            f"trial {active.trial.number} complete [{_cell_text(active.config)}, seed "
            f"{active.config.seed}]: {metric} {shown} at epoch {result['best_epoch']}"
        )

    def _fail(
        self, active: _Active, state: str, error: str, kind: ErrorKind = ErrorKind.NONE
    ) -> None:
        active.finished = True
        self._recorder.end(active.row_id, active.trial, state=state, error=error, error_kind=kind)
        self._event(f"trial {active.trial.number} {state}: {error.splitlines()[0]}")

    def _reap(self, active: _Active) -> None:
        """The worker exited: drain its pipe; without a result it died (segfault, OOM kill…)."""
        try:
            while active.conn.poll():
                self._handle(active, active.conn.recv())
        except (EOFError, OSError):
            pass
        active.process.join(timeout=5)
        if not active.finished:
            code = active.process.exitcode
            how = (
                f"signal {signal.Signals(-code).name}"
                if code and code < 0
                else f"exit code {code}"
            )
            if self._stopping >= 2:
                self._fail(
                    active,
                    "interrupted",
                    "killed by a second Ctrl-C; resumes from its last epoch checkpoint",
                )
            else:
                self._fail(
                    active,
                    "failed",
                    f"worker process died ({how}) without a result; "
                    f"see its log {self._log_of(active)}",
                    ErrorKind.DIED,
                )
        self._retire(active, worker_exits=True)

    def _log_of(self, active: _Active) -> str:
        with session_scope(self.engine) as session:
            return str(session.get(writer.TrialRow, active.row_id).log_path)

    # ------------------------------------------------------------------ loop
    def run(self) -> RunSummary:
        # Workers first: their imports (torch, timm: seconds) overlap opening the database,
        # Optuna and the data preparation.
        self._workers.prespawn(self.pool)
        try:
            self._open()
            ledger = self._recover()
            if self.options.retry_failed:  # earlier failures no longer count against the cap
                self._forgiven = Counter(ledger.failures)
            if self._done(ledger) and not self._gave_up_now(ledger):
                self._workers.close(kill=True)
                return self._summary(ledger, already_complete=True)
            self._prepare_data()
            self._preflight()
        except BaseException:  # e.g. Ctrl-C while generating data: nothing to save yet
            self._workers.close(kill=True)
            self._forget_if_unstarted()
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
            ledger = self._read_ledger()
            return self._summary(ledger, already_complete=False)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _loop(self) -> None:
        beat = self.options.heartbeat_s or min(10.0, self.options.stale_after_s / 4)
        last_beat = last_recover = time.monotonic()
        while True:
            ledger = self._read_ledger()
            if not self._stopping:
                while (slot := self.pool.acquire()) is not None:
                    if not self._launch(slot, ledger):
                        self.pool.release(slot)
                        break
                    ledger = self._read_ledger()
            if not self._active:
                if self._stopping or self._done(ledger):
                    return
                if self._pending_elsewhere(ledger):
                    self._message = (
                        "waiting for runs other machines hold (taken over if they go stale)"
                    )
                elif self._next_possible(ledger):
                    self._message = f"waiting for a free device: {self.pool.waiting_reason()}"
                else:
                    return
            self._wait(self.options.poll_s if self._active else 2.0)
            now = time.monotonic()
            if now - last_beat >= beat:
                with session_scope(self.engine) as session:
                    writer.touch_trials(session, list(self._active))
                last_beat = now
            if not self._active and now - last_recover >= beat:
                self._recover()
                last_recover = now
            self._update(ledger)

    def _wait(self, timeout: float) -> None:
        if not self._active:
            time.sleep(timeout)
            return
        waitables: dict[Any, _Active] = {}
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
            self.engine,
            self.study,
            self.study_id,
            host=self._host,
            own_rows=set(self._active),
            stale_after_s=self.options.stale_after_s,
        )
        for note in notes:
            self._event(note)
        return self._read_ledger()

    def _preflight(self) -> None:
        """Check every backbone name and weights file the study can reach before anything
        trains: a typo must stop the study at once, not fail its runs one by one for hours.
        A worker does the timm look-ups (it has timm imported; this process never does)."""
        configs = self._planned or [resolve(self.spec, seed=self.spec.seeds[0], cell={})]
        for config in configs:
            path = config.model.image.pretrained_path
            if path is not None and config.model.modality != "social" and not path.is_file():
                raise UsageError(
                    f"Pretrained weights file {path} (model.image.pretrained_path) does not "
                    "exist; fix the path or remove pretrained_path."
                )
        slot = self.pool.acquire()
        if slot is None:  # nothing free now: each trial still checks as it builds its model
            return
        try:
            worker = self._workers.get(slot)
            worker.conn.send(("check", backbones_reached(self.spec)))
            reply = worker.conn.recv() if worker.conn.poll(600) else None
        except (EOFError, OSError):
            reply = None  # the worker died; the trials will say why
        finally:
            self.pool.release(slot)
        problems = reply[1] if reply is not None and reply[0] == "checked" else []
        if problems:
            more = f" ({len(problems) - 1} more name(s) unknown)" if len(problems) > 1 else ""
            raise UsageError(problems[0] + more)

    def _prepare_data(self) -> None:
        specs = {c.data for c in self._planned} or {self.spec.data}
        for data in specs:
            self._message = "preparing data (once; cached for every trial)"
            self._update(None)
            ensure_dataset(data, root=self.options.data_root)
        self._message = ""

    # ---------------------------------------------------------------- status
    def _done(self, ledger: _ledger.Ledger) -> bool:
        if self.spec.search is None:
            return all(
                c.run_key in ledger.complete or self._exhausted(c.run_key, ledger)
                for c in self._planned
            )
        finished = len(ledger.complete) + len(ledger.pruned)
        given_up = sum(
            1
            for k in ledger.last_params
            if self._exhausted(k, ledger) and k not in ledger.complete
        )
        # Stop sampling if as many configurations failed for good as the study asked for.
        return finished >= self.spec.search.n_trials or given_up >= self.spec.search.n_trials

    def _gave_up_now(self, ledger: _ledger.Ledger) -> bool:
        return any(
            self._exhausted(c.run_key, ledger) and c.run_key not in ledger.complete
            for c in self._planned
        )

    def _pending_elsewhere(self, ledger: _ledger.Ledger) -> bool:
        return bool(ledger.live - {a.run_key for a in self._active.values()})

    def _next_possible(self, ledger: _ledger.Ledger) -> bool:
        return not self._done(ledger)

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

    def _event(self, text: str) -> None:
        self._events.append(text)

    def _update(self, ledger: _ledger.Ledger | None) -> None:
        ledger = ledger or self._read_ledger()
        slots = []
        for active in self._active.values():
            per_epoch = (
                sum(active.epoch_seconds) / len(active.epoch_seconds)
                if active.epoch_seconds
                else None
            )
            eta = per_epoch * (active.epochs - active.epoch) if per_epoch is not None else None
            slots.append(
                SlotView(
                    slot=active.slot.label,
                    trial=active.trial.number,
                    cell=_cell_text(active.config),
                    seed=active.config.seed,
                    epoch=active.epoch,
                    epochs=active.epochs,
                    val_accuracy=active.val_accuracy,
                    eta_s=eta,
                )
            )
        events, self._events = tuple(self._events), []
        self._on_update(
            Snapshot(
                study=self.spec.name,
                total=self._target(),
                complete=len(ledger.complete),
                failed=sum(ledger.failures.values()),
                pruned=len(ledger.pruned),
                running=len(self._active),
                slots=tuple(slots),
                message=self._message,
                events=events,
            )
        )

    def _gave_up_text(self, config: TrialConfig, ledger: _ledger.Ledger) -> str:
        n = ledger.failures[config.run_key] - self._forgiven[config.run_key]
        text = f"{_cell_text(config)}, seed {config.seed} after {n} failure{'s' * (n != 1)}"
        if config.run_key in ledger.usage:
            text += f" (not retried: {ledger.usage[config.run_key]})"
        return text

    def _summary(self, ledger: _ledger.Ledger, *, already_complete: bool) -> RunSummary:
        self._update(ledger)
        gave_up = tuple(
            self._gave_up_text(c, ledger)
            for c in self._planned
            if self._exhausted(c.run_key, ledger) and c.run_key not in ledger.complete
        )
        return RunSummary(
            study=self.spec.name,
            total=self._target(),
            complete=len(ledger.complete),
            failed=sum(ledger.failures.values()),
            pruned=len(ledger.pruned),
            trained=self._trained,
            already_complete=already_complete,
            gave_up=gave_up,
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
        spec,
        spec_text=spec_text,
        spec_path=spec_path,
        pool=pool,
        options=options,
        on_update=on_update,
        workers=workers,
    ).run()


__all__ = ["RunOptions", "StudyRunner", "run_study"]
