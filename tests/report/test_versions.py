"""A table never mixes study versions: only the runs of the stored spec are shown."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ablate.db import make_engine
from ablate.report import ablation_table, per_class_table

FOUR = {"concat": [0.70, 0.71, 0.72], "sum": [0.73, 0.74, 0.75]}  # train.epochs = 4
THREE = {"concat": [0.60, 0.61, 0.62], "sum": [0.63, 0.64, 0.65]}  # train.epochs = 3


def _two_versions(fakes: SimpleNamespace, tmp_path: Path):
    """Epochs changed 4 → 3 → 4: both versions complete, the stored spec says 4 again."""
    grid = {"model.fusion": ["concat", "sum"]}
    four = fakes.fusion_spec(grid=grid, references=[], train={"epochs": 4})
    three = fakes.fusion_spec(grid=grid, references=[], train={"epochs": 3})
    trials = []
    for spec, accuracies, epochs in ((four, FOUR, 4), (three, THREE, 3)):
        for fusion, values in accuracies.items():
            for seed, accuracy in enumerate(values):
                trial = fakes.FakeTrial({"model.fusion": fusion}, seed, accuracy=accuracy)
                trial.epochs = epochs
                trial.run_key = fakes.run_key(spec, trial)
                trials.append(trial)
    url = fakes.build_db(tmp_path / "versions.sqlite", four, trials)
    return make_engine(url, create=False)


def test_table_shows_only_the_stored_version(fakes: SimpleNamespace, tmp_path: Path) -> None:
    engine = _two_versions(fakes, tmp_path)
    table = ablation_table(engine, "fusion", metrics=("accuracy",))
    rows = {row[0].text: row for row in table.sections[0].rows}
    for fusion, values in FOUR.items():
        assert rows[fusion][1].text == "3"
        assert math.isclose(rows[fusion][2].numbers[0], 100 * np.mean(values), rel_tol=1e-12)
    assert (
        "6 finished runs from earlier versions of this study (other settings) are kept in the "
        "database and not shown."
    ) in table.footnotes
    assert not any("Not started" in note for note in table.footnotes)
    per_class = per_class_table(engine, "fusion")
    assert [row[1].text for row in per_class.sections[0].rows] == ["3", "3"]


def test_a_new_version_shows_its_runs_as_not_started(
    fakes: SimpleNamespace, tmp_path: Path
) -> None:
    spec = fakes.fusion_spec(grid={"model.fusion": ["concat"]}, references=[], baseline=None)
    old = fakes.fusion_spec(
        grid={"model.fusion": ["concat"]}, references=[], baseline=None, train={"lr": 0.1}
    )
    trial = fakes.FakeTrial({"model.fusion": "concat"}, 0)
    trial.run_key = fakes.run_key(old, trial)
    engine = make_engine(fakes.build_db(tmp_path / "new.sqlite", spec, [trial]), create=False)
    table = ablation_table(engine, "fusion", metrics=("accuracy",))
    assert [c.text for c in table.sections[0].rows[0]][:3] == ["concat", "0", "—"]
    assert table.footnotes == (
        "Not started (3 runs): fusion=concat seed 0; fusion=concat seed 1; fusion=concat seed 2.",
        "1 finished run from earlier versions of this study (other settings) is kept in the "
        "database and not shown.",
    )
