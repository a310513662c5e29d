"""What orchestration costs: a study of short trials through ``ablate run`` vs direct calls.

Three timings of the same study (3 modalities × 2 seeds, tiny model, synthetic data), in one
invocation:

1. baseline: ``fit()`` called directly in a loop in this process (1 torch thread, data loaded
   once), no database, no processes;
2. ``ablate run --cpu-slots 1 --threads-per-slot 1`` (a new process: CLI start, database,
   Optuna, a spawned worker, checkpoints every epoch);
3. ``ablate run --cpu-slots 2 --threads-per-slot 1``.

Prints (2)/(1), the orchestration overhead (target ≤ 1.10), and (2)/(3), the speed-up of two
CPU slots over one (target ≥ 1.8 on 2 cores). Trials of the three modalities differ in cost
(RS ≈ fused ≈ 2× social), so with 6 trials on 2 slots part of the gap is load imbalance; the
same comparison on 4 equal trials (fused × 4 seeds) is printed too.

    .venv/bin/python bench/bench_scheduler.py [--epochs 10] [--n 1350]
"""

from __future__ import annotations

import argparse
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


def through_ablate(study: Path, work: Path, data_root: Path, slots: int) -> float:
    work.mkdir(exist_ok=True)
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        study = work / "bench.yaml"
        study.write_text(STUDY.format(n=args.n, epochs=args.epochs))
        data_root = work / "data"
        from ablate.data import ensure_dataset
        from ablate.spec import load_study

        ensure_dataset(load_study(study)[0].data, root=data_root)  # generate once, outside timing
        base = direct(study, data_root)
        one = through_ablate(study, work, data_root, 1)
        two = through_ablate(study, work, data_root, 2)
        equal = work / "equal.yaml"
        equal.write_text(
            STUDY.format(n=args.n, epochs=args.epochs)
            .replace("name: bench", "name: equal")
            .replace("model.modality: [rs, social, fused]", "model.modality: [fused]")
            .replace("seeds: [0, 1]", "seeds: [0, 1, 2, 3]")
        )
        equal_one = through_ablate(equal, work / "e", data_root, 1)
        equal_two = through_ablate(equal, work / "e", data_root, 2)
    print(f"6 trials × {args.epochs} epochs, {args.n} synthetic regions at 32 px, test_resnet")
    print(f"direct fit() loop, 1 thread:           {base:6.1f} s")
    print(f"ablate run, 1 CPU slot × 1 thread:     {one:6.1f} s")
    print(f"ablate run, 2 CPU slots × 1 thread:    {two:6.1f} s")
    print(f"orchestration overhead (1 slot / direct): {one / base:.3f}x  (target <= 1.10)")
    print(f"speed-up of 2 slots over 1:               {one / two:.2f}x  (target >= 1.8)")
    print(f"4 equal trials (fused × 4 seeds): 1 slot {equal_one:.1f} s, 2 slots {equal_two:.1f} s")
    print(f"speed-up of 2 slots over 1, equal trials:  {equal_one / equal_two:.2f}x")


if __name__ == "__main__":
    main()
