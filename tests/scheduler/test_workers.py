"""Slot workers: CPU ones are forked from one server that imported torch once, and still see
the scheduler's environment, working folder and the slot's threads, as a spawned one would."""

from __future__ import annotations

import os
import sys
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from ablate.scheduler import DevicePool, Workers
from ablate.worker import adopt_slot
from tests.conftest import REPO


def _probe(env: dict[str, str], threads: int, conn: Connection, _stop: Event) -> None:
    """A worker target that reports what a trial would see, instead of training."""
    preloaded = "torch" in sys.modules and "ablate.train.fit" in sys.modules
    adopt_slot(env, threads)
    import torch

    conn.send(
        {
            "preloaded": preloaded,
            "probe": os.environ.get("ABLATE_PROBE"),
            "gone": os.environ.get("ABLATE_PROBE_GONE"),
            "cwd": os.getcwd(),
            "threads": torch.get_num_threads(),
            "omp": os.environ.get("OMP_NUM_THREADS"),
            "cuda_visible": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "slot": os.environ.get("ABLATE_SLOT"),
            "pid": os.getpid(),
        }
    )


def test_cpu_workers_are_forked_with_torch_imported_and_our_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ABLATE_PROBE_GONE", "set when the server may have started")
    pool = DevicePool(gpus="cpu", cpu_slots=2, threads_per_slot=2, environ={})
    workers = Workers(target=_probe)
    workers.prespawn(pool)  # starts the fork server: it imports torch now
    # Changed after the server started: the workers must still see them, as a spawned one would.
    monkeypatch.setenv("ABLATE_PROBE", "after the server started")
    monkeypatch.delenv("ABLATE_PROBE_GONE")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(REPO))  # the workers unpickle ``_probe`` from this module
    slots = [pool.acquire(), pool.acquire()]
    try:
        reports = []
        for slot in slots:
            conn = workers.get(slot).conn
            assert conn.poll(120), "the worker sent nothing in 2 minutes"
            reports.append(conn.recv())
    finally:
        workers.close()
    for slot, report in zip(slots, reports, strict=True):
        assert report["preloaded"]  # forked from the server: torch and timm already imported
        assert report["probe"] == "after the server started"
        assert report["gone"] is None
        assert Path(report["cwd"]) == tmp_path
        assert report["threads"] == 2 and report["omp"] == "2"
        assert report["cuda_visible"] == ""  # a CPU slot never sees a GPU
        assert report["slot"] == slot.key
    assert reports[0]["pid"] != reports[1]["pid"] != os.getpid()


def _fork_servers_of(pid: int) -> list[int]:
    """Our fork server processes (children of ``pid`` running multiprocessing's forkserver)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and b"multiprocessing.forkserver" in command:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_killing_unused_workers_stops_the_fork_server_mid_import() -> None:
    """A study found complete at start kills its workers; the server, still importing torch,
    must go too: left alone it outlives ``ablate run`` and holds its output pipe open."""
    workers = Workers()
    workers.prespawn(DevicePool(gpus="cpu", cpu_slots=2, threads_per_slot=1, environ={}))
    assert _fork_servers_of(os.getpid())
    workers.close(kill=True)
    assert _fork_servers_of(os.getpid()) == []
