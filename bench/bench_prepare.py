"""``ablate data prepare`` at scale: time and peak memory against the number of regions.

    .venv/bin/python bench/bench_prepare.py [--sizes 25000 100000] [--workers 1 2]
                                            [--root /tmp/ablate-prep-bench] [--clean]

Writes synthetic raw folders (80 % labelled, 20 % test regions) under ``--root`` once and reuses
them (``--clean`` deletes them at the end). Each prepare runs in a fresh process, calling
``prepare_cache`` as ``ablate data prepare`` does, with phase timestamps. Prints time, regions/s,
the peak RSS of the whole process tree (VmRSS sampled from /proc every 20 ms, summed over the
main process and its workers) and of each process (its VmHWM), the ratio of the peaks of
the largest and the smallest size, and a projection for the final round on a 16-core server.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ablate.data import write_synthetic
from ablate.data._memory import disk_bytes

FINAL_ROUND = 440_000  # regions of the final round that prepare processes (400k + 100k, usable)
SERVER_CORES = 16
CHILD = """
import json, sys, time
from pathlib import Path
from ablate.data import prepare_cache

marks = {"start": time.perf_counter()}
def progress(done, total):
    marks.setdefault("chunks_start", time.perf_counter())
    if done == total:
        marks["chunks_end"] = time.perf_counter()
prepare_cache(Path(sys.argv[1]), Path(sys.argv[2]), workers=int(sys.argv[3]), progress=progress)
marks["end"] = time.perf_counter()
print(json.dumps(marks))
"""


def _raw(root: Path, regions: int) -> Path:
    raw = root / f"raw-{regions}"
    if not (raw / ".done").is_file():
        shutil.rmtree(raw, ignore_errors=True)
        start = time.perf_counter()
        n_test = regions // 5
        write_synthetic(raw, n=regions - n_test, seed=0, n_test=n_test)
        (raw / ".done").write_text(f"{time.perf_counter() - start:.1f}\n")
    return raw


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop())
        todo += children.get(tree[-1], [])
    return tree


def _memory(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (its peak so far) of a process, in bytes; {} once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    fields = (line.split() for line in status.splitlines())
    return {f[0][:-1]: int(f[1]) * 1024 for f in fields if f and f[0] in ("VmRSS:", "VmHWM:")}


def _prepare(raw: Path, cache: Path, workers: int) -> dict:
    shutil.rmtree(cache, ignore_errors=True)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(raw), str(cache), str(workers)],
        stdout=subprocess.PIPE,
        text=True,
    )
    tree_peak, own_peak = 0, {}  # own_peak: pid -> VmHWM, the exact peak of each process
    while child.poll() is None:
        now = {pid: _memory(pid) for pid in _tree(child.pid)}
        tree_peak = max(tree_peak, sum(m.get("VmRSS", 0) for m in now.values()))
        own_peak.update({pid: m["VmHWM"] for pid, m in now.items() if "VmHWM" in m})
        time.sleep(0.02)
    output = child.stdout.read()
    child.stdout.close()
    if child.returncode:
        raise SystemExit(f"prepare of {raw} failed with exit code {child.returncode}")
    marks = json.loads(output)
    workers_peak = [peak for pid, peak in own_peak.items() if pid != child.pid]
    return {
        "seconds": marks["end"] - marks["start"],
        "find": marks["chunks_start"] - marks["start"],  # list, pair, plan key
        "assemble": marks["end"] - marks["chunks_end"],  # stack the arrays, split, manifest
        "chunks": marks["chunks_end"] - marks["chunks_start"],
        "tree_peak": tree_peak,
        "main_peak": own_peak.get(child.pid, 0),
        "worker_peak": max(workers_peak, default=0),
        "disk": disk_bytes(cache),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[25_000, 100_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--root", type=Path, default=Path("/tmp/ablate-prep-bench"))
    parser.add_argument("--clean", action="store_true", help="delete the raw folders at the end")
    args = parser.parse_args()
    results = {}
    for regions in args.sizes:
        raw = _raw(args.root, regions)
        written = (raw / ".done").read_text().strip()  # seconds it took to write
        print(
            f"{regions:,} regions: raw folder {disk_bytes(raw) / 1e9:.2f} GB "
            f"(written in {written or '?'} s once; reused while present)"
        )
        for workers in args.workers:
            result = _prepare(raw, args.root / f"cache-{regions}", workers)
            results[regions, workers] = result
            print(
                f"  --workers {workers}: {result['seconds']:6.1f} s "
                f"({regions / result['seconds']:,.0f} regions/s; finding files "
                f"{result['find']:.1f} s, writing arrays {result['assemble']:.1f} s), "
                f"peak RSS {result['tree_peak'] / 2**20:,.0f} MiB "
                f"(process tree; main {result['main_peak'] / 2**20:,.0f} MiB, largest other "
                f"{result['worker_peak'] / 2**20:,.0f} MiB), "
                f"cache {result['disk'] / 1e9:.2f} GB"
            )
        shutil.rmtree(args.root / f"cache-{regions}")
    small, large = min(args.sizes), max(args.sizes)
    for workers in args.workers:
        ratio = results[large, workers]["tree_peak"] / results[small, workers]["tree_peak"]
        print(f"peak RSS {large:,} / {small:,} regions, --workers {workers}: {ratio:.2f}x")
    _project(results, large, args.workers)
    if args.clean:
        for regions in args.sizes:
            shutil.rmtree(args.root / f"raw-{regions}")


def _project(results: dict, regions: int, workers: list[int]) -> None:
    """Final round on a 16-core server: the serial parts (finding files, writing arrays) scale
    with the regions, the chunks with the regions divided by the cores, at the efficiency
    measured from 1 to 2 workers (at most 100 %: more means the machine was busier for one)."""
    one = results[regions, min(workers)]
    most = max(workers)
    efficiency = 1.0
    if most > min(workers):
        speedup = one["chunks"] / results[regions, most]["chunks"]
        efficiency = min(1.0, speedup / (most / min(workers)))
        print(f"chunks, {min(workers)} -> {most} workers: {speedup:.2f}x")
    serial = (one["find"] + one["assemble"]) / regions * FINAL_ROUND
    chunks = one["chunks"] / regions * FINAL_ROUND / (SERVER_CORES * efficiency)
    print(
        f"projection, {FINAL_ROUND:,} regions on {SERVER_CORES} cores: {serial + chunks:.0f} s "
        f"(serial {serial:.0f} s + chunks {chunks:.0f} s at {efficiency:.0%} per-core efficiency; "
        "assumes the disk keeps up)"
    )


if __name__ == "__main__":
    main()
