"""The worker process: pin the device, import torch, train, talk to the scheduler.

A GPU slot's worker runs in a *spawned* interpreter: the environment (CUDA_VISIBLE_DEVICES,
thread counts) is set before torch is imported, so the trial sees exactly the device it was
given. A CPU slot's worker is forked from a server that imported torch once with the GPUs
hidden (``ablate.worker._preload``); it sets its torch threads here. A worker never touches
the database: it sends messages and the scheduler writes.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from ablate._plugins import CodeRef
from ablate.errors import UsageError
from ablate.results import EpochResult, ErrorKind
from ablate.spec import StudySpec, TrialConfig
from ablate.worker._faults import Fault, parse_faults
from ablate.worker._messages import (
    Allocated,
    AskPrune,
    CheckNames,
    EpochDone,
    Exit,
    Measured,
    ModelsProbed,
    NamesChecked,
    Note,
    ProbeModels,
    PruneAnswer,
    RunTrial,
    TrialDone,
    TrialFailed,
)
from ablate.worker._task import WorkerTask


class PipeReporter:
    """Sends epochs to the scheduler, asks it about pruning, watches the stop event."""

    def __init__(
        self,
        conn: Connection,
        stop: Event,
        faults: tuple[Fault, ...],
        config: TrialConfig,
        *,
        prunable: bool = True,
    ) -> None:
        self._conn, self._stop, self._faults, self._config = conn, stop, faults, config
        self._prunable = prunable
        self._announced = False

    def epoch(self, report: EpochResult, *, replayed: bool) -> None:
        self._conn.send(EpochDone(report, replayed))
        print(
            f"epoch {report.epoch}: train_loss={report.train_loss:.4f} "
            f"val_loss={report.val_loss:.4f} val_acc={report.val_accuracy:.4f}"
            f"{' (replayed from checkpoint)' if replayed else ''}",
            flush=True,
        )
        for fault in self._faults:  # a replayed epoch fires again: a deterministic bug recurs
            if fault.applies(self._config, report.epoch):
                fault.fire()

    def note(self, text: str) -> None:
        self._conn.send(Note(text))
        print(text, flush=True)

    def measured(self, peak_memory_bytes: int | None, data_path: str) -> None:
        self._conn.send(Measured(peak_memory_bytes, data_path))
        if peak_memory_bytes is not None:
            print(
                f"after the first batch: peak memory {peak_memory_bytes / 2**30:.2f} GiB "
                f"(data: {data_path or 'the task holds it'})",
                flush=True,
            )

    def should_prune(self, epoch: int, value: float) -> bool:
        if not self._prunable:
            return False
        self._conn.send(AskPrune(epoch, value))
        answer: PruneAnswer = self._conn.recv()
        return answer.prune

    def should_stop(self) -> bool:
        if not self._announced:  # first batch: the model and data are on the device now
            self._announced = True
            self._conn.send(Allocated())
        return self._stop.is_set()


def _redirect_output(log_path: str) -> None:
    """Send this process's stdout/stderr to the trial's log file (one file per trial)."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    handle = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (kept open)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(handle.fileno(), 1)
    os.dup2(handle.fileno(), 2)
    sys.stdout = sys.stderr = handle


def adopt_slot(env: dict[str, str], threads: int) -> None:
    """Take the slot's environment (the scheduler's, plus the slot's pinning and thread
    variables), then import torch and set its threads. A spawned worker imports torch only
    now, with its device pinned; a forked CPU worker has it already, with the GPUs hidden, and
    would otherwise keep the fork server's environment rather than the scheduler's."""
    os.environ.clear()
    os.environ.update(env)
    import torch

    torch.set_num_threads(threads)


def worker_main(env: dict[str, str], threads: int, conn: Connection, stop: Event) -> None:
    """Entry point of a slot's process: trains the trials it is sent, one at a time.

    The process lives as long as its slot, so torch is imported once and a trial's data stays
    on the device for the next trial that uses the same data. After a failed trial it exits,
    so the next trial starts in a fresh process (a CUDA error can poison the context).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches us through ``stop``
    adopt_slot(env, threads)
    import ablate.train.fit  # noqa: F401  (timm, torchvision: seconds, overlapped with setup)

    held: dict[str, Any] = {}
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        match message:
            case CheckNames(backbones, study, plugins):  # before the study trains
                conn.send(_check_names(backbones, study, plugins))
            case ProbeModels(configs, seconds, device):  # for a time estimate
                conn.send(_probe_models(configs, seconds, device))
            case RunTrial(task):
                if not _run_task(task, conn, stop, held):
                    conn.close()
                    return
            case Exit():
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(0)  # nothing left to clean up; tearing torch down costs ~1 s


def _check_names(
    backbones: dict[str, str], study: StudySpec | None, plugins: tuple[CodeRef, ...]
) -> NamesChecked:
    """Backbone names looked up in timm; plugins imported (one that does not is the one
    problem); every component the study names checked against the registries."""
    from ablate.models import check_study, unknown_backbone
    from ablate.tasks import load_task

    try:
        modules = tuple(ref for ref in plugins if ref.attribute is None)
        located = tuple(check_study(study, modules)) if study is not None else ()
        for ref in plugins:
            if ref.attribute is not None:  # the study's own task: it must load
                load_task(ref)
    except UsageError as exc:  # a plugin that does not import, or registers a name twice
        return NamesChecked((str(exc),))
    problems = (unknown_backbone(name, where) for name, where in backbones.items())
    return NamesChecked(tuple(p for p in problems if p), located)


def _probe_models(configs: tuple[TrialConfig, ...], seconds: float, device: str) -> ModelsProbed:
    """Each config's model timed (``ablate.train.probe``); an error is the estimate's loss,
    never the study's: the trials will report it properly."""
    from ablate.train.probe import probe_model

    try:
        return ModelsProbed(tuple(probe_model(c, device=device, seconds=seconds) for c in configs))
    except Exception as exc:
        return ModelsProbed((), problem=f"{exc.__class__.__name__}: {exc}".splitlines()[0])


def _run_task(task: WorkerTask, conn: Connection, stop: Event, held: dict[str, Any]) -> bool:
    """Train one trial and send its result or error; False if the process should exit."""
    import torch

    from ablate.tasks import load_code
    from ablate.train._memory import reset_peak_memory
    from ablate.train.fit import fit, load_task_data

    _redirect_output(task.log_path)
    reset_peak_memory(torch.device(task.device))
    config = task.config
    print(
        f"trial of {config.study}: cell={config.cell} params={config.params} seed={config.seed} "
        f"device={task.device} threads={torch.get_num_threads()} pid={os.getpid()}",
        flush=True,
    )
    reporter = PipeReporter(conn, stop, parse_faults(task.fault), config, prunable=task.prunable)
    try:
        # before the model is built
        runner = load_code(task.plugins, task.task_ref, placement=task.placement)
        key = (
            f"{task.data_root}|{task.device}|{task.task_ref}|{task.placement}|"
            f"{config.data.model_dump_json()}"
        )
        if held.get("key") != key:
            held.clear()  # free the previous trial's arrays before loading new ones
            held["data"] = load_task_data(
                runner, config, data_root=Path(task.data_root), device=torch.device(task.device)
            )
            held["key"] = key
        _tell_placement(held["data"], reporter)
        result = fit(
            config,
            device=task.device,
            data_root=Path(task.data_root),
            checkpoint_path=Path(task.checkpoint_path),
            report=reporter,
            data=held["data"],
            best_path=Path(task.best_path) if task.best_path else None,
            task=runner,
        )
        name = torch.cuda.get_device_name(0) if task.device.startswith("cuda") else "cpu"
        conn.send(TrialDone(result, name))
    except torch.cuda.OutOfMemoryError:
        return _failed(conn, ErrorKind.OOM)
    except UsageError:  # e.g. a backbone that cannot take the input: the same every time
        return _failed(conn, ErrorKind.USAGE)
    except BaseException:
        return _failed(conn, ErrorKind.EXCEPTION)
    finally:
        if task.device.startswith("cuda"):
            torch.cuda.empty_cache()
    return True


def _tell_placement(data: Any, reporter: PipeReporter) -> None:
    """The trial's log says how it holds its rows; a 'resident' that did not fit is a note."""
    decision = getattr(data, "data_placement", None)
    if decision is None:
        return
    print(f"data: {decision.path} ({decision.reason})", flush=True)
    if decision.overridden:
        reporter.note(f"data: {decision.reason}")


def _failed(conn: Connection, kind: ErrorKind) -> bool:
    """Log the exception being handled and tell the scheduler; the process then exits."""
    traceback.print_exc()
    conn.send(TrialFailed(kind, traceback.format_exc()))
    return False
