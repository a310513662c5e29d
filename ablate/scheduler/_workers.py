"""The slots' long-lived worker processes, started (device pinned, torch imported) once each.

Kept apart from the study loop so that ``ablate run`` can start them first, before it imports
Optuna and SQLAlchemy and opens the database: a worker's imports (torch, timm) take seconds,
and they overlap all of that.

GPU slots get a *spawned* interpreter whose environment pins its GPU before torch is imported.
CPU slots are forked from one fork server that has imported torch and the training stack once
(``ablate.worker._preload``), with the GPUs hidden: two CPU slots no longer import torch twice
on the same cores, and a worker replaced after a failed trial starts at once.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import multiprocessing.forkserver
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from ablate.scheduler.devices import DevicePool, Slot
from ablate.worker import worker_main
from ablate.worker._messages import Exit


@dataclass
class Worker:
    """A slot's worker process and the scheduler's end of its pipe."""

    process: Any
    conn: Connection


_PRELOAD = "ablate.worker._preload"


class Workers:
    """One worker per slot, started on first use; ``stop`` asks running trials to stop."""

    def __init__(self, target: Callable[..., None] = worker_main) -> None:
        """``target(env, threads, conn, stop)`` runs in each worker (tests pass a probe)."""
        self._target = target
        self._ctx = mp.get_context("spawn")
        self._forked = mp.get_context("forkserver")
        # The server is one per process and keeps the imports it started with; set before
        # it starts (a server already running, e.g. from an earlier study in this process,
        # is reused as it is).
        self._forked.set_forkserver_preload([_PRELOAD])
        self.stop = self._ctx.Event()
        self._workers: dict[str, Worker] = {}
        self._started_server = False

    def _context(self, slot: Slot) -> Any:
        return self._forked if slot.kind == "cpu" else self._ctx

    def get(self, slot: Slot) -> Worker:
        """The slot's worker, started now if it has none (or its process has ended).

        For a CPU slot this waits until the fork server has imported torch (a few seconds after
        ``prespawn``, if the study's setup was quicker than that)."""
        worker = self._workers.get(slot.key)
        if worker is not None and worker.process.is_alive():
            return worker
        self.drop(slot)
        context = self._context(slot)
        parent, child = context.Pipe()
        # A forked worker inherits the fork server's environment, not ours: send all of it.
        process = context.Process(
            target=self._target,
            args=({**os.environ, **slot.env()}, slot.threads, child, self.stop),
            name=f"ablate-worker-{slot.key}",
        )
        process.start()
        child.close()
        worker = self._workers[slot.key] = Worker(process=process, conn=parent)
        return worker

    def prespawn(self, pool: DevicePool) -> None:
        """Start the imports for every slot free now; they run while we go on.

        GPU slots get their spawned worker now. CPU slots get the fork server started (it
        imports torch once); their workers are forked from it by the first ``get``, which
        waits for those imports if they are not done yet. Forking them now would block here.
        """
        slots = []
        while len(slots) < pool.capacity and (slot := pool.acquire()) is not None:
            slots.append(slot)
        if any(slot.kind == "cpu" for slot in slots):
            multiprocessing.forkserver.ensure_running()
            self._started_server = True
        for slot in slots:
            if slot.kind != "cpu":
                self.get(slot)
            pool.release(slot)

    def drop(self, slot: Slot) -> None:
        """Forget the slot's worker, whose process has ended or is ending."""
        worker = self._workers.pop(slot.key, None)
        if worker is None:
            return
        worker.conn.close()
        worker.process.join(timeout=5)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()

    def close(self, *, kill: bool = False) -> None:
        """Ask idle workers to exit, or ``kill`` them (they have done nothing worth waiting
        for, e.g. still importing torch when the study turns out to be complete). ``kill`` also
        stops the fork server ``prespawn`` started: left importing, it would outlive ``ablate
        run`` by seconds and hold its stdout open (a caller reading the output would wait)."""
        if kill and self._started_server:
            _stop_fork_server()
            self._started_server = False
        for worker in self._workers.values():
            if kill:
                worker.process.kill()
                continue
            with contextlib.suppress(OSError, BrokenPipeError):
                worker.conn.send(Exit())
        for worker in self._workers.values():
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self._workers.clear()


def _stop_fork_server() -> None:
    """Kill this process's fork server now, even mid-import; the next CPU worker starts a new
    one. multiprocessing has no public call for this: where its internals differ, the server
    is left to finish its imports and exit on its own."""
    server = getattr(multiprocessing.forkserver, "_forkserver", None)
    pid = getattr(server, "_forkserver_pid", None)
    if pid is None:
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        server._stop()  # reaps it and forgets it
