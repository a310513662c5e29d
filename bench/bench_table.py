"""How fast 'ablate table' answers on a large results database.

Builds (bulk inserts with SQLAlchemy core) a grid study of 100 cells × 50 seeds = 5,000 trials
with 30 epochs each, per-epoch extras, results, per-class metrics and confusion matrices for
both splits, a few failed and retried runs. Then times, in the same run:

- baseline: a raw sqlite3 SELECT of the rows the table needs (trials joined with results);
- library: ``ablation_table`` + markdown rendering, in process (database → table text);
- CLI: ``python -m ablate table ...`` in a fresh process (imports included), best of 3.

    .venv/bin/python bench/bench_table.py [--db /tmp/ablate-bench.sqlite] [--keep]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert

from ablate.db import ensure_schema, make_engine
from ablate.db._schema import (
    ClassMetricRow,
    ConfusionRow,
    EpochMetricRow,
    EpochRow,
    ResultRow,
    StudyRow,
    TrialRow,
)
from ablate.spec import FUSIONS, StudySpec, cell_key, grid_cells

LRS = [1e-4, 2e-4, 3e-4, 5e-4, 7e-4, 1e-3, 2e-3, 3e-3, 5e-3, 7e-3]
SEEDS = list(range(50))
EPOCHS = 30


def build(path: Path) -> tuple[str, float, int]:
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    ensure_schema(engine)
    spec = StudySpec(
        name="big",
        grid={"model.fusion": list(FUSIONS), "train.lr": LRS},
        seeds=SEEDS,
        baseline={"model.fusion": "concat"},
        references=[{"label": "Cao et al. 2020 (reported)", "test_accuracy": 70.02}],
    )
    rng = random.Random(0)
    now = datetime(2026, 11, 20, 12, 0)
    start = time.perf_counter()
    trials, epochs, extras, results, classes, confusion = [], [], [], [], [], []
    trial_id = 0
    for seed in SEEDS:
        for cell in grid_cells(spec):
            key = cell_key(cell)
            attempts = ["failed", "complete"] if rng.random() < 0.01 else ["complete"]
            if rng.random() < 0.005:
                attempts = ["failed"]
            for attempt, state in enumerate(attempts, start=1):
                trial_id += 1
                trials.append(
                    dict(
                        id=trial_id,
                        study_id=1,
                        number=trial_id - 1,
                        run_key=f"{key}#{seed}",
                        cell_key=key,
                        cell=cell,
                        params={},
                        seed=seed,
                        state=state,
                        attempt=attempt,
                        config={"model": {"fusion": cell["model.fusion"]}},
                        started_at=now,
                        finished_at=now,
                        heartbeat_at=now,
                        host="gpu-1",
                        pid=1,
                        git_commit="abc",
                        error="RuntimeError: CUDA out of memory" if state == "failed" else "",
                    )
                )
                base = 0.6 + 0.01 * FUSIONS.index(cell["model.fusion"]) + rng.gauss(0, 0.005)
                for e in range(1, EPOCHS + 1):
                    epochs.append(
                        dict(
                            trial_id=trial_id,
                            epoch=e,
                            train_loss=1 / e,
                            val_loss=1.1 / e,
                            val_accuracy=base - 0.1 / e,
                            lr=1e-3,
                            seconds=2.0,
                        )
                    )
                    for name in ("loss.main", "loss.deep_supervision"):
                        extras.append(dict(trial_id=trial_id, epoch=e, name=name, value=0.5))
                if state != "complete":
                    continue
                for split in ("val", "test"):
                    acc = base + rng.gauss(0, 0.003)
                    results.append(
                        dict(
                            trial_id=trial_id,
                            split=split,
                            epoch=EPOCHS,
                            accuracy=acc,
                            kappa=acc - 0.1,
                            macro_f1=acc - 0.05,
                            loss=1.0,
                            n_samples=10_000,
                        )
                    )
                    for k in range(9):
                        classes.append(
                            dict(
                                trial_id=trial_id,
                                split=split,
                                class_index=k,
                                class_name=f"c{k}",
                                accuracy=acc,
                                support=100,
                            )
                        )
                        for j in range(9):
                            confusion.append(
                                dict(
                                    trial_id=trial_id,
                                    split=split,
                                    true_class=k,
                                    pred_class=j,
                                    count=90 if k == j else 1,
                                )
                            )
    with engine.begin() as conn:
        conn.execute(
            insert(StudyRow),
            [
                dict(
                    id=1,
                    name="big",
                    description="bench",
                    kind="grid",
                    spec_text="",
                    spec_json=spec.model_dump(mode="json"),
                    spec_path="",
                    created_at=now,
                    updated_at=now,
                )
            ],
        )
        for table, rows in (
            (TrialRow, trials),
            (EpochRow, epochs),
            (EpochMetricRow, extras),
            (ResultRow, results),
            (ClassMetricRow, classes),
            (ConfusionRow, confusion),
        ):
            conn.execute(insert(table), rows)
    engine.dispose()
    return url, time.perf_counter() - start, len(trials)


def raw_select(path: Path) -> float:
    start = time.perf_counter()
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT t.id, t.run_key, t.cell_key, t.seed, t.state, t.error, r.accuracy, r.kappa "
            "FROM ablate_trial t LEFT JOIN ablate_result r ON r.trial_id = t.id "
            "AND r.split = 'test' WHERE t.study_id = 1"
        ).fetchall()
    assert len(rows) >= 5000
    return time.perf_counter() - start


def library(url: str) -> float:
    from ablate.report import ablation_table, to_markdown

    start = time.perf_counter()
    text = to_markdown(ablation_table(make_engine(url, create=False), "big"))
    assert "concat" in text
    return time.perf_counter() - start


def cli(url: str) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ablate",
                "table",
                "--study",
                "big",
                "--format",
                "markdown",
                "--storage",
                url,
            ],
            check=True,
            capture_output=True,
        )
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/ablate-bench.sqlite"))
    parser.add_argument("--keep", action="store_true", help="Reuse an existing --db.")
    args = parser.parse_args()
    if args.keep and args.db.exists():
        url, built, n = f"sqlite:///{args.db}", 0.0, -1
    else:
        url, built, n = build(args.db)
    raw = min(raw_select(args.db) for _ in range(3))
    lib = min(library(url) for _ in range(3))
    end_to_end = cli(url)
    print(json.dumps({"trials": n, "build_s": round(built, 2)}))
    print(f"baseline raw sqlite3 SELECT (trials ⋈ results): {raw * 1000:8.1f} ms")
    print(
        f"ablation_table + markdown, in process:           {lib * 1000:8.1f} ms "
        f"({lib / raw:.1f}× the raw SELECT)"
    )
    print(
        f"'python -m ablate table' in a new process:       {end_to_end * 1000:8.1f} ms "
        f"({end_to_end / raw:.1f}× the raw SELECT; budget 2000 ms)"
    )


if __name__ == "__main__":
    main()
