"""What orchestration costs: a study of short trials through ``ablate run`` vs direct calls.

Timings of the same study (3 modalities × 2 seeds, tiny model, synthetic data), in one
invocation, each a new process timed from outside, as a user would run it:

1. baseline: a Python process that calls ``fit()`` in a loop (1 torch thread, data loaded
   once), no database, no scheduler, no checkpoints;
2. ``ablate run --cpu-slots 1 --threads-per-slot 1`` (CLI start, database, Optuna, a worker
   process forked from a server that imports torch once, a checkpoint and a synced database
   commit every epoch);
3. ``ablate run --cpu-slots 2 --threads-per-slot 1``.

Prints (2)/(1), the orchestration overhead (target ≤ 1.10), and (2)/(3), the speed-up of two
CPU slots over one (target ≥ 1.8 on 2 cores). Timings on the shared VMs drift by 10-25 % over
minutes, so every variant runs ``--repeat`` times, interleaved. The overhead uses each variant's
fastest run (noise only ever adds time). Speed-ups are printed two ways: the median of each
round's ratio (the two variants ran back to back, so they saw the same spell) and the ratio
of the fastest runs. Both processes pay the same ~5 s of imports (torch, timm); the loop's
time with its imports left out is printed too, as the harshest reading.

Each speed-up comes with the machine's own ceiling: the direct loop against two direct loops
side by side, each over half the trials (no database, no scheduler). The same comparisons are
printed for 4 equal trials (fused × 4 seeds).

    .venv/bin/python bench/bench_scheduler.py [--epochs 10] [--n 1350] [--repeat 2]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STUDY = """\
name: bench
data: {{source: synthetic, n: {n}, image_size: 32}}
model:
  image: {{backbone: test_resnet}}
  visit: {{branch: cnn2d, width: 16}}
  embed_dim: 64
train: {{epochs: {epochs}, batch_size: 64, lr: 3.0e-3}}
grid:
  model.modality: [rs, social, fused]
seeds: [0, 1]
"""


def direct(study: Path, data_root: Path) -> float:
    """The baseline loop, in this process; returns its time without the imports."""
    import torch

    from ablate.spec import grid_trials, load_study
    from ablate.train import NullReporter
    from ablate.train.fit import fit, load_data

    torch.set_num_threads(1)
    spec, _ = load_study(study)
    configs = grid_trials(spec)
    started = time.perf_counter()
    data = load_data(configs[0].data, data_root=data_root, device=torch.device("cpu"))
    for config in configs:
        fit(
            config,
            device="cpu",
            data_root=data_root,
            checkpoint_path=None,
            report=NullReporter(),
            data=data,
        )
    return time.perf_counter() - started


def direct_process(study: Path, data_root: Path) -> tuple[float, float]:
    """(wall time of a new process running the loop, the loop's time without imports)."""
    command = [sys.executable, __file__, "--direct", str(study), str(data_root)]
    started = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return time.perf_counter() - started, float(done.stdout.strip().splitlines()[-1])


def direct_pair(halves: tuple[Path, Path], data_root: Path) -> float:
    """Wall time of two baseline processes side by side, each looping over half the trials:
    what two slots could give on this machine with no orchestration at all."""
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, "--direct", str(half), str(data_root)],
            stdout=subprocess.DEVNULL,
        )
        for half in halves
    ]
    if any(process.wait() for process in processes):
        raise SystemExit("a baseline process failed")
    return time.perf_counter() - started


def through_ablate(study: Path, work: Path, data_root: Path, slots: int) -> float:
    """Wall time of ``ablate run`` on a fresh database (a new folder under ``work``)."""
    work = Path(tempfile.mkdtemp(dir=work))
    db = work / f"slots{slots}.sqlite"
    command = [
        sys.executable,
        "-m",
        "ablate",
        "run",
        str(study),
        "--storage",
        f"sqlite:///{db}",
        "--data-dir",
        str(data_root),
        "--checkpoint-dir",
        str(work / f"ckpt{slots}"),
        "--log-dir",
        str(work / f"logs{slots}"),
        "--cpu-slots",
        str(slots),
        "--threads-per-slot",
        "1",
        "--no-live",
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--n", type=int, default=1350)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each variant")
    parser.add_argument("--direct", nargs=2, metavar=("STUDY", "DATA"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.direct:  # the baseline's own process
        print(direct(Path(args.direct[0]), Path(args.direct[1])))
        return
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        study = work / "bench.yaml"
        study.write_text(STUDY.format(n=args.n, epochs=args.epochs))
        data_root = work / "data"
        from ablate.data import ensure_dataset
        from ablate.spec import load_study

        ensure_dataset(load_study(study)[0].data, root=data_root)  # generate once, outside timing
        equal = work / "equal.yaml"
        equal.write_text(
            STUDY.format(n=args.n, epochs=args.epochs)
            .replace("name: bench", "name: equal")
            .replace("model.modality: [rs, social, fused]", "model.modality: [fused]")
            .replace("seeds: [0, 1]", "seeds: [0, 1, 2, 3]")
        )
        halves = (work / "equal_a.yaml", work / "equal_b.yaml")
        for half, seeds in zip(halves, ("[0, 1]", "[2, 3]"), strict=True):
            half.write_text(equal.read_text().replace("seeds: [0, 1, 2, 3]", f"seeds: {seeds}"))
        mixed_halves = (work / "mixed_a.yaml", work / "mixed_b.yaml")  # one seed each: the
        for half, seed in zip(mixed_halves, ("[0]", "[1]"), strict=True):  # best split
            half.write_text(study.read_text().replace("seeds: [0, 1]", f"seeds: {seed}"))
        times: dict[str, list[float]] = {}
        loops = []
        for round_ in range(args.repeat):  # interleaved, so slow spells hit every variant
            print(f"round {round_ + 1} of {args.repeat}", file=sys.stderr)
            base, loop = direct_process(study, data_root)
            loops.append(loop)
            for name, value in (  # each speed-up's two variants back to back
                ("direct", base),
                ("pair", direct_pair(mixed_halves, data_root)),
                ("one", through_ablate(study, work, data_root, 1)),
                ("two", through_ablate(study, work, data_root, 2)),
                ("equal_one", through_ablate(equal, work, data_root, 1)),
                ("equal_two", through_ablate(equal, work, data_root, 2)),
                ("equal_direct", direct_process(equal, data_root)[0]),
                ("equal_pair", direct_pair(halves, data_root)),
            ):
                times.setdefault(name, []).append(value)
    best = {name: min(values) for name, values in times.items()}
    base, one, loop = best["direct"], best["one"], min(loops)

    def runs(name: str) -> str:
        return " / ".join(f"{value:.1f}" for value in times[name]) + " s"

    def speedup(slow: str, fast: str) -> str:
        """Each round's ratio (the two ran back to back), their median, and the ratio of the
        fastest runs; the median of paired rounds is the steadier reading on a noisy VM."""
        paired = [a / b for a, b in zip(times[slow], times[fast], strict=True)]
        rounds = " / ".join(f"{r:.2f}" for r in paired)
        return (
            f"{statistics.median(paired):.2f}x median of rounds ({rounds}); "
            f"{best[slow] / best[fast]:.2f}x fastest"
        )

    print(f"6 trials × {args.epochs} epochs, {args.n} synthetic regions at 32 px, test_resnet;")
    print(f"each variant run {args.repeat}x, interleaved")
    print(f"direct fit() loop, new process, 1 thread: {runs('direct')} ({loop:.1f} s w/o imports)")
    print(f"ablate run, 1 CPU slot × 1 thread:        {runs('one')}")
    print(f"ablate run, 2 CPU slots × 1 thread:       {runs('two')}")
    print(f"orchestration overhead (1 slot / direct): {one / base:.3f}x fastest  (target <= 1.10)")
    print(f"  against the loop without its imports:   {one / loop:.3f}x")
    print(f"speed-up of 2 slots over 1: {speedup('one', 'two')}  (target >= 1.8)")
    print(f"  ceiling, two direct loops side by side (one seed each) {runs('pair')}:")
    print(f"  {speedup('direct', 'pair')}, no orchestration")
    print(f"4 equal trials (fused × 4 seeds), 1 slot:  {runs('equal_one')}")
    print(f"4 equal trials (fused × 4 seeds), 2 slots: {runs('equal_two')}")
    print(f"speed-up of 2 slots over 1, equal trials: {speedup('equal_one', 'equal_two')}")
    print(f"  ceiling, one direct loop {runs('equal_direct')} against two side by side")
    print(f"  (2 seeds each) {runs('equal_pair')}: {speedup('equal_direct', 'equal_pair')}")


if __name__ == "__main__":
    main()
