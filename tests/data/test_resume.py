"""A prepare killed with SIGKILL and run again equals, byte for byte, an uninterrupted one."""

from __future__ import annotations

import filecmp
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import ablate.data.prepare as prepare_module
from ablate.data import open_cache, prepare_cache
from ablate.errors import DataError

# Prints progress; after ``stop`` samples it blocks on stdin, so the test kills it mid-prepare.
CHILD = """
import sys
from pathlib import Path
from ablate.data import prepare_cache

stop = int(sys.argv[3])

def progress(done, total):
    print(done, total, flush=True)
    if stop and done >= stop:
        sys.stdin.readline()

prepare_cache(Path(sys.argv[1]), Path(sys.argv[2]), chunk_size=10, progress=progress)
"""
ARRAY_FILES = [
    "images.npy", "visits.npy", "labels.npy", "ids.npy", "manifest.json",
    "split_train.npy", "split_val.npy", "split_test.npy", "split_unlabelled.npy",
]  # fmt: skip


def _kill_after(raw: Path, out: Path, samples: int, *, block: bool) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(raw), str(out), str(samples if block else 0)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in child.stdout:
        if int(line.split()[0]) >= samples:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdin.close()
    child.stdout.close()


def _assert_identical(a: Path, b: Path) -> None:
    _, mismatch, errors = filecmp.cmpfiles(a, b, ARRAY_FILES, shallow=False)
    assert not mismatch and not errors


def test_killed_between_chunks_resumes_identically(raw_small, cache_small, tmp_path) -> None:
    out = tmp_path / "cache"
    _kill_after(raw_small, out, 20, block=True)
    done = sorted(p.name for p in (out / "_partial").glob("chunk_*.npz"))
    assert done == ["chunk_000000.npz", "chunk_000001.npz"]
    with pytest.raises(DataError, match="is not a complete cache"):
        open_cache(out)
    prepare_cache(raw_small, out, chunk_size=10)
    assert not (out / "_partial").exists()
    _assert_identical(out, cache_small)  # cache_small was made in one go, chunks of 2000


def test_killed_at_any_moment_resumes_identically(raw_small, cache_small, tmp_path) -> None:
    out = tmp_path / "cache"
    _kill_after(raw_small, out, 1, block=False)  # killed wherever the child happens to be
    (out / "_partial" / "chunk_000005.npz.tmp").parent.mkdir(parents=True, exist_ok=True)
    (out / "_partial" / "chunk_000005.npz.tmp").write_bytes(b"half a chunk")  # a torn write
    prepare_cache(raw_small, out, chunk_size=10)
    _assert_identical(out, cache_small)


def test_crash_before_the_marker_is_never_a_cache(raw_small, cache_small, tmp_path, monkeypatch):
    out = tmp_path / "cache"
    real_write = prepare_module.write_atomic

    def crash_at_marker(path: Path, write) -> None:
        if path.name == "COMPLETE":
            raise KeyboardInterrupt
        real_write(path, write)

    monkeypatch.setattr(prepare_module, "write_atomic", crash_at_marker)
    with pytest.raises(KeyboardInterrupt):
        prepare_cache(raw_small, out, chunk_size=10)
    with pytest.raises(DataError, match="is not a complete cache"):
        open_cache(out)
    monkeypatch.setattr(prepare_module, "write_atomic", real_write)
    prepare_cache(raw_small, out, chunk_size=10)
    _assert_identical(out, cache_small)


def test_changed_settings_discard_stale_chunks(raw_small, tmp_path) -> None:
    out = tmp_path / "cache"
    _kill_after(raw_small, out, 20, block=True)
    manifest = prepare_cache(raw_small, out, chunk_size=10, split_seed=5)
    assert manifest["settings"]["split_seed"] == 5 and manifest["n_samples"] == 96


def test_worker_processes_give_the_same_cache(raw_small, cache_small, tmp_path) -> None:
    prepare_cache(raw_small, tmp_path / "cache", workers=2, chunk_size=20)
    _assert_identical(tmp_path / "cache", cache_small)
