"""One tiny study end to end through the CLI: run → database → table, and run again."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from ablate.cli import app
from tests.conftest import REPO, tiny_study

pytestmark = pytest.mark.slow
RUNNER = CliRunner()


def _run(*args: str):
    return RUNNER.invoke(app, list(args), catch_exceptions=False)


def test_run_store_table_and_rerun(workdir: Path) -> None:
    study = tiny_study(workdir / "tiny.yaml", modalities="[rs, social, fused]", seeds="[0]")
    first = _run("run", str(study), "--cpu-slots", "2", "--threads-per-slot", "1", "--no-live")
    assert first.exit_code == 0, first.output
    assert "3/3 complete" in first.output
    assert multiprocessing.active_children() == []  # both slot workers are gone

    db = workdir / "db" / "ablate.sqlite"
    con = sqlite3.connect(db)
    trials = con.execute("select id, state from ablate_trial").fetchall()
    assert len(trials) == 3 and {s for _, s in trials} == {"complete"}
    for trial_id, _ in trials:
        epochs = con.execute("select count(*) from ablate_epoch where trial_id=?", (trial_id,))
        assert epochs.fetchone()[0] == 2
        for split in ("val", "test"):
            cells = con.execute(
                "select count(*), sum(count) from ablate_confusion where trial_id=? and split=?",
                (trial_id, split),
            ).fetchone()
            assert cells[0] == 81 and cells[1] > 0
    con.close()
    study_in_optuna = optuna.load_study(study_name="tiny", storage=f"sqlite:///{db}")
    assert len(study_in_optuna.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) == 3

    table = _run("table", "--study", "tiny", "--format", "markdown")
    assert table.exit_code == 0, table.output
    before = db.read_bytes()

    again = _run("run", str(study), "--no-live")
    assert again.exit_code == 0
    assert "Study 'tiny' is complete: 3/3 runs done; nothing to train." in again.output
    assert multiprocessing.active_children() == []  # workers started early were killed
    assert _run("table", "--study", "tiny", "--format", "markdown").output == table.output
    con = sqlite3.connect(db)
    assert con.execute("select count(*) from ablate_trial").fetchone()[0] == 3
    con.close()
    assert before  # the file existed and was read


def test_typo_in_study_leaves_database_byte_identical(workdir: Path) -> None:
    good = tiny_study(workdir / "tiny.yaml", modalities="[fused]", seeds="[0]")
    assert _run("run", str(good), "--no-live").exit_code == 0
    db = workdir / "db" / "ablate.sqlite"
    wal = workdir / "db" / "ablate.sqlite-wal"
    before = (db.read_bytes(), wal.read_bytes() if wal.exists() else b"")
    bad = workdir / "bad.yaml"
    bad.write_text(good.read_text().replace("  fusion: concat", "  fuson: concat"))
    result = RUNNER.invoke(app, ["run", str(bad)])
    assert result.exit_code == 2
    assert f"Unknown key 'fuson' at model in {bad}:8; did you mean 'fusion'?" in " ".join(
        result.output.split()
    )
    after = (db.read_bytes(), wal.read_bytes() if wal.exists() else b"")
    assert after == before


def test_dry_run_lists_runs_and_trains_nothing(workdir: Path) -> None:
    study = tiny_study(workdir / "tiny.yaml")
    result = _run("run", str(study), "--dry-run")
    assert result.exit_code == 0
    assert result.output.count("to run") == 4
    assert not (workdir / "db" / "ablate.sqlite").exists()


def test_dry_run_catches_a_backbone_typo_and_names_a_missing_cache(workdir: Path) -> None:
    typo = tiny_study(workdir / "typo.yaml")
    typo.write_text(typo.read_text().replace("backbone: test_resnet", "backbone: resnet_18"))
    result = _run("run", str(typo), "--dry-run")
    assert result.exit_code == 2
    assert " ".join(result.output.split()).startswith(
        "error: Unknown timm backbone 'resnet_18' at model.image.backbone; did you mean 'resnet18'"
    )
    fusion = _run("run", str(REPO / "studies" / "fusion.yaml"), "--dry-run")
    assert fusion.exit_code == 0
    assert (
        "The data cache data/urfc-small does not exist yet (no manifest.json there): make it "
        "with 'ablate data prepare RAW --out data/urfc-small' before 'ablate run'."
    ) in " ".join(fusion.output.split())


def test_gc_removes_finished_checkpoints_and_keeps_best_weights(workdir: Path) -> None:
    study = tiny_study(workdir / "tiny.yaml", modalities="[fused]", seeds="[0]")
    assert _run("run", str(study), "--no-live").exit_code == 0
    folder = workdir / "db" / "checkpoints" / "tiny"
    assert len(list(folder.glob("*.best.pt"))) == 1  # kept by default: gc's promise holds
    [resume] = [p for p in folder.glob("*.pt") if not p.name.endswith(".best.pt")]
    stale = folder / f".{resume.name}.999999999.tmp"  # a kill mid-write left this
    stale.write_bytes(b"half a checkpoint")
    listed = _run("gc", "--dry-run")
    assert "Would delete 2 checkpoint file(s)" in listed.output and resume.exists()
    done = _run("gc")
    assert done.exit_code == 0 and "Deleted 2 checkpoint file(s)" in done.output
    assert not resume.exists() and not stale.exists()
    assert len(list(folder.glob("*.best.pt"))) == 1


def test_gc_keeps_a_runs_only_weights_unless_asked(workdir: Path) -> None:
    study = tiny_study(
        workdir / "tiny.yaml",
        modalities="[fused]",
        seeds="[0]",
        extra="resources: {keep_best_weights: false}\n",
    )
    assert _run("run", str(study), "--no-live").exit_code == 0
    [resume] = list((workdir / "db" / "checkpoints" / "tiny").glob("*.pt"))
    kept = _run("gc")
    assert "Deleted 0 checkpoint file(s)" in kept.output and resume.exists()
    assert "Kept 1 checkpoint(s) that hold a complete run's only trained weights" in " ".join(
        kept.output.split()
    )
    assert _run("gc", "--delete-only-weights").exit_code == 0 and not resume.exists()
