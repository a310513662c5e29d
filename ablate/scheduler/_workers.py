"""The slots' long-lived worker processes, spawned (device pinned, torch imported) once each.

Kept apart from the study loop so that ``ablate run`` can start them first, before it imports
Optuna and SQLAlchemy and opens the database: a worker's imports (torch, timm) take seconds,
and they overlap all of that.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from ablate.scheduler.devices import DevicePool, Slot
from ablate.worker import worker_main


@dataclass
class Worker:
    """A slot's worker process and the scheduler's end of its pipe."""

    process: Any
    conn: Connection


class Workers:
    """One worker per slot, spawned on first use; ``stop`` asks running trials to stop."""

    def __init__(self) -> None:
        self._ctx = mp.get_context("spawn")
        self.stop = self._ctx.Event()
        self._workers: dict[str, Worker] = {}

    def get(self, slot: Slot) -> Worker:
        """The slot's worker, spawned now if it has none (or its process has ended)."""
        worker = self._workers.get(slot.key)
        if worker is not None and worker.process.is_alive():
            return worker
        self.drop(slot)
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=worker_main,
            args=(slot.env(), slot.threads, child, self.stop),
            name=f"ablate-worker-{slot.key}",
        )
        process.start()
        child.close()
        worker = self._workers[slot.key] = Worker(process=process, conn=parent)
        return worker

    def prespawn(self, pool: DevicePool) -> None:
        """Start a worker for every slot free now (their imports run while we go on)."""
        slots = []
        while len(slots) < pool.capacity and (slot := pool.acquire()) is not None:
            slots.append(slot)
        for slot in slots:
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
        for, e.g. still importing torch when the study turns out to be complete)."""
        for worker in self._workers.values():
            if kill:
                worker.process.kill()
                continue
            with contextlib.suppress(OSError, BrokenPipeError):
                worker.conn.send(("exit",))
        for worker in self._workers.values():
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self._workers.clear()
