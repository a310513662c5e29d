"""Peak memory of `ablate run` on 1 and 2 CPU slots over one large cache, by data path.

Builds a synthetic cache once (default 60,000 regions, under /tmp; reused when present), then
runs a one-epoch, two-trial study on it with 1 and with 2 CPU slots for each data path, and
samples every 0.2 s the PSS (shared pages counted once) summed over the `ablate run` process
and all its descendants (fork server, workers). Prints each peak against the cache's size on
disk, the ratio 2 slots / 1 slot per path (target for streaming: ≤ 1.15×), and the time from
a trial's start to its first training batch (read from the trial logs as they grow).
``--baseline-src DIR``: also run the code in DIR (e.g. ``git archive`` of an older commit) as
the old behaviour.

    .venv/bin/python bench/bench_memory.py [--n 60000] [--cache /tmp/ablate-bench-60k/cache]
        [--paths stream,resident] [--baseline-src /tmp/headcopy]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ablate.data._memory import disk_bytes

REPO = Path(__file__).resolve().parents[1]
GIB = 1024**3
STUDY = """\
name: memory
data: {{source: cache, path: {cache}, image_size: 16}}
model: {{modality: fused, image: {{backbone: test_resnet}}, visit: {{branch: cnn2d, width: 8}},
        fusion: concat, embed_dim: 16}}
train: {{epochs: 1, batch_size: 256, lr: 1.0e-3}}
seeds: [0, 1]
resources: {{{placement}keep_best_weights: false}}
"""


def ablate(src: Path, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.Popen([sys.executable, "-m", "ablate", *args], env=env, **kwargs)


def build_cache(cache: Path, n: int, workers: int) -> None:
    if (cache / "COMPLETE").is_file():
        return
    raw = cache.parent / "raw"
    started = time.perf_counter()
    if not (raw / "train_visit").is_dir():
        assert ablate(REPO, "data", "synth", "--out", str(raw), "--n", str(n)).wait() == 0
    prepare = ("data", "prepare", str(raw), "--out", str(cache), "--workers", str(workers))
    assert ablate(REPO, *prepare).wait() == 0
    print(f"built {cache} in {time.perf_counter() - started:.0f} s")


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _first_batch_seconds(logs: Path, seen: dict[Path, list[float]], now: float) -> None:
    for log in logs.rglob("*.log"):
        marks = seen.setdefault(log, [])
        text = log.read_text(errors="replace")
        if not marks and "trial of " in text:
            marks.append(now)
        if len(marks) == 1 and "after the first batch" in text:
            marks.append(now)


def measure(src: Path, cache: Path, placement: str, slots: int) -> tuple[int, list[float], float]:
    """Peak summed PSS, seconds to each trial's first batch, and the wall time of the run."""
    with tempfile.TemporaryDirectory(prefix="ablate-bench-mem-") as tmp:
        work = Path(tmp)
        setting = f"data_placement: {placement}, " if placement else ""  # older: no such key
        (work / "memory.yaml").write_text(STUDY.format(cache=cache, placement=setting))
        args = ("run", "memory.yaml", "--cpu-slots", str(slots), "--no-live")
        started = time.perf_counter()
        process = ablate(src, *args, cwd=work, stdout=subprocess.DEVNULL)
        peak, marks = 0, {}
        while process.poll() is None:
            peak = max(peak, sum(_pss(pid) for pid in _tree(process.pid)))
            _first_batch_seconds(work / "db" / "logs", marks, time.perf_counter())
            time.sleep(0.2)
        if process.returncode != 0:
            raise SystemExit(f"ablate run ({placement}, {slots} slot(s)) failed")
        firsts = [m[1] - m[0] for m in marks.values() if len(m) == 2]
        return peak, firsts, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60_000, help="regions of the synthetic cache")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/ablate-bench-60k/cache"))
    parser.add_argument("--workers", type=int, default=2, help="prepare's worker processes")
    parser.add_argument("--paths", default="stream,resident", help="data paths to run")
    parser.add_argument("--baseline-src", type=Path, help="older ablate source: the baseline")
    args = parser.parse_args()
    build_cache(args.cache, args.n, args.workers)
    disk = disk_bytes(args.cache)
    print(f"cache {args.cache}: {disk / GIB:.2f} GiB on disk")
    runs = [(REPO, path, path) for path in args.paths.split(",")]
    if args.baseline_src is not None:
        runs.append((args.baseline_src, "", f"baseline ({args.baseline_src.name})"))
    for src, placement, label in runs:
        peaks = {}
        for slots in (1, 2):
            peak, firsts, wall = measure(src, args.cache, placement, slots)
            peaks[slots] = peak
            first = ", ".join(f"{s:.1f}" for s in sorted(firsts)) or "n/a"
            print(
                f"{label:>22} {slots} slot(s): peak PSS {peak / GIB:5.2f} GiB = "
                f"{peak / disk:4.2f}× the cache; first batch after {first} s; run {wall:.0f} s"
            )
        print(f"{label:>22} 2 slots / 1 slot: {peaks[2] / peaks[1]:.2f}×")


if __name__ == "__main__":
    main()
