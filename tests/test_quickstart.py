"""The README's quickstart: the real study file, its regime, and the same numbers from a cache
prepared by `ablate data prepare` as from the built-in synthetic data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate.cli import app
from tests.conftest import REPO, tiny_study

pytestmark = pytest.mark.slow
RUNNER = CliRunner()


def _test_accuracy(db: Path) -> dict[tuple[str, int], float]:
    con = sqlite3.connect(db)
    rows = con.execute(
        "select json_extract(t.cell, '$.\"model.modality\"'), t.seed, r.accuracy "
        "from ablate_trial t join ablate_result r on r.trial_id = t.id "
        "where t.state = 'complete' and r.split = 'test'"
    ).fetchall()
    con.close()
    return {(modality, seed): accuracy for modality, seed, accuracy in rows}


def test_quickstart_fused_beats_social_beats_rs(workdir: Path) -> None:
    study = REPO / "studies" / "quickstart.yaml"
    result = RUNNER.invoke(app, ["run", str(study), "--cpu-slots", "2", "--no-live"])
    assert result.exit_code == 0, result.output
    accuracy = _test_accuracy(workdir / "db" / "ablate.sqlite")
    mean = {m: (accuracy[(m, 0)] + accuracy[(m, 1)]) / 2 for m in ("rs", "social", "fused")}
    assert mean["fused"] > mean["social"] > mean["rs"], mean
    assert mean["fused"] < 0.95  # the synthetic data is not trivially separable


def test_prepared_cache_gives_the_same_numbers_as_builtin_data(workdir: Path) -> None:
    builtin = tiny_study(workdir / "builtin.yaml", name="builtin", seeds="[0]")
    assert RUNNER.invoke(app, ["data", "synth", "--out", "raw", "--n", "270"]).exit_code == 0
    prepared = RUNNER.invoke(app, ["data", "prepare", "raw", "--out", "cache"])
    assert prepared.exit_code == 0, prepared.output
    from_cache = workdir / "cache.yaml"
    from_cache.write_text(
        builtin.read_text()
        .replace("name: builtin", "name: from_cache")
        .replace("source: synthetic, n: 270,", "source: cache, path: cache,")
    )
    for path, db in ((builtin, "a.sqlite"), (from_cache, "b.sqlite")):
        result = RUNNER.invoke(
            app, ["run", str(path), "--storage", f"sqlite:///{db}", "--no-live"]
        )
        assert result.exit_code == 0, result.output
    assert _test_accuracy(workdir / "a.sqlite") == _test_accuracy(workdir / "b.sqlite")
    assert len(_test_accuracy(workdir / "a.sqlite")) == 2
