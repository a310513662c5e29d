"""A trial that aborts its process, one that raises, one that runs out of memory: each is
recorded with its reason and retried up to the cap while the other trials finish."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate.cli import app
from tests.conftest import tiny_study

pytestmark = pytest.mark.slow


def test_abort_raise_and_oom_are_handled(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    study = tiny_study(
        workdir / "faults.yaml",
        name="faults",
        modalities="[rs, social, fused]",
        seeds="[0, 1]",
        extra="resources: {max_retries: 1}\n",
    )
    text = study.read_text().replace(
        "weight_decay: 0.01}", "weight_decay: 0.01, halve_batch_on_oom: true}"
    )
    study.write_text(text)
    monkeypatch.setenv(
        "ABLATE_INJECT_FAULT",
        "abort@1:model.modality=rs,seed=0;raise@1:model.modality=social,seed=0;"
        "oom@1:model.modality=fused,seed=0,batch_size=64",
    )
    result = CliRunner().invoke(
        app, ["run", str(study), "--cpu-slots", "2", "--threads-per-slot", "1", "--no-live"]
    )
    assert result.exit_code == 1, result.output  # two runs were given up on
    out = " ".join(result.output.split())
    assert "gave up on modality=rs, seed 0 after 2 failures" in out
    assert "gave up on modality=social, seed 0 after 2 failures" in out

    con = sqlite3.connect(workdir / "db" / "ablate.sqlite")
    rows = con.execute(
        "select json_extract(cell, '$.\"model.modality\"'), seed, state, error, batch_size "
        "from ablate_trial order by id"
    ).fetchall()
    con.close()
    by_run: dict[tuple[str, int], list[tuple[str, str, int]]] = {}
    for modality, seed, state, error, batch in rows:
        by_run.setdefault((modality, seed), []).append((state, error, batch))
    # the other seed of every cell finished untouched
    for modality in ("rs", "social", "fused"):
        assert [s for s, *_ in by_run[(modality, 1)]] == ["complete"]
    aborted = by_run[("rs", 0)]
    assert [s for s, *_ in aborted] == ["failed", "failed"]
    assert "worker process died (signal SIGABRT)" in aborted[0][1]
    raised = by_run[("social", 0)]
    assert [s for s, *_ in raised] == ["failed", "failed"]
    assert "RuntimeError: injected failure" in raised[0][1]
    assert "Traceback" in raised[0][1]
    oom = by_run[("fused", 0)]
    assert [s for s, *_ in oom] == ["failed", "complete"]
    assert oom[0][1].startswith("CUDA out of memory; retrying with the batch halved")
    assert [b for *_, b in oom] == [64, 32]

    status = CliRunner().invoke(app, ["status", "--study", "faults"])
    assert status.exit_code == 0
    assert "injected failure" in status.output and "SIGABRT" in status.output


def test_a_backbone_typo_stops_the_study_before_anything_trains(workdir: Path) -> None:
    study = tiny_study(workdir / "typo.yaml", name="typo", seeds="[0]")
    study.write_text(
        study.read_text().replace(
            "grid:\n", "grid:\n  model.image.backbone: [test_resnet, resnt18]\n"
        )
    )
    result = CliRunner().invoke(app, ["run", str(study), "--threads-per-slot", "1", "--no-live"])
    assert result.exit_code == 2, result.output
    assert (
        "error: Unknown timm backbone 'resnt18' at grid['model.image.backbone']; did you mean "
        "'resnet18'"
    ) in " ".join(result.output.split())
    con = sqlite3.connect(workdir / "db" / "ablate.sqlite")
    assert con.execute("select count(*) from ablate_trial").fetchone()[0] == 0  # none trained
    assert con.execute("select count(*) from ablate_study").fetchone()[0] == 0  # no empty row
    optuna_tables = con.execute("select name from sqlite_master where name='studies'").fetchall()
    assert optuna_tables == []  # nothing of the study was written: not even Optuna's tables
    con.close()


def test_a_usage_error_in_training_is_not_retried(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = tiny_study(workdir / "usage.yaml", name="usage", seeds="[0, 1]", modalities="[fused]")
    monkeypatch.setenv("ABLATE_INJECT_FAULT", "usage@1:seed=0")
    result = CliRunner().invoke(app, ["run", str(study), "--threads-per-slot", "1", "--no-live"])
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert "gave up on modality=fused, seed 0 after 1 failure (not retried: UsageError" in out
    con = sqlite3.connect(workdir / "db" / "ablate.sqlite")
    rows = con.execute("select seed, state, error_kind from ablate_trial order by id").fetchall()
    con.close()
    assert sorted(rows) == [(0, "failed", "usage"), (1, "complete", "")]
