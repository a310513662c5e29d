"""The report commands through the CLI: exit codes, exact messages, help, no torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate.cli import app

COMMANDS = ("studies", "table", "plot", "report", "export")
runner = CliRunner()


def test_unknown_study_names_the_closest(fusion_url: str) -> None:
    result = runner.invoke(app, ["table", "--study", "fusoin", "--storage", fusion_url])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: No study named 'fusoin' in the results database; did you mean 'fusion'?\n"
    )


def test_missing_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/none.sqlite"
    result = runner.invoke(app, ["table", "--study", "fusion", "--storage", url])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: No results database at {tmp_path}/none.sqlite; run 'ablate run STUDY.yaml' "
        "first, or pass --storage.\n"
    )
    assert not (tmp_path / "none.sqlite").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "--storage" in result.stdout and len(result.stdout.split()) > 30


def test_table_markdown_to_file(fusion_url: str, tmp_path: Path) -> None:
    out = tmp_path / "t.md"
    args = ["table", "-s", "fusion", "-f", "markdown", "-m", "accuracy", "-o", str(out)]
    result = runner.invoke(app, [*args, "--storage", fusion_url])
    assert result.exit_code == 0, result.output
    assert "| sum | 3 | **69.30 ± 0.56** | +0.73† | 0.014 / 0.250 |" in out.read_text()


def test_bad_choices_are_one_line(fusion_url: str) -> None:
    result = runner.invoke(app, ["table", "-s", "fusion", "-m", "acc", "--storage", fusion_url])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: Unknown metric 'acc'; use one of: accuracy, kappa, macro_f1.\n"
    )
    result = runner.invoke(app, ["report", "-s", "fusion", "-o", "x.key", "--storage", fusion_url])
    assert result.exit_code == 2 and "name it *.pptx or *.md" in result.stderr


def test_studies_and_commands_write_files(fusion_url: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["studies", "--storage", fusion_url])
    assert result.exit_code == 0 and "fusion" in result.stdout
    result = runner.invoke(app, ["plot", "curves", "-s", "fusion", "-o", str(tmp_path),
                                 "--storage", fusion_url])  # fmt: skip
    assert result.exit_code == 0 and (tmp_path / "fusion_curves.png").exists()
    result = runner.invoke(app, ["export", "-s", "fusion", "-o", str(tmp_path / "e"),
                                 "--storage", fusion_url])  # fmt: skip
    assert result.exit_code == 0 and (tmp_path / "e" / "fusion_epochs.csv").exists()


def test_table_does_not_import_torch(fusion_url: str) -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from ablate.cli import app\n"
        f"r = CliRunner().invoke(app, ['table', '-s', 'fusion', '--storage', {fusion_url!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('torch', 'matplotlib', 'pptx') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]


def test_importance_of_a_grid_study_is_a_usage_error(fusion_url: str, tmp_path: Path) -> None:
    args = ["plot", "importance", "-s", "fusion", "-o", str(tmp_path), "--storage", fusion_url]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr == (
        "error: Parameter importances need a search study; 'fusion' is a grid study (try "
        "'ablate plot curves' or 'ablate plot confusion').\n"
    )


def test_unknown_plot_suggests_the_closest(fusion_url: str) -> None:
    result = runner.invoke(app, ["plot", "curve", "-s", "fusion", "--storage", fusion_url])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: Unknown plot 'curve'; did you mean 'curves'? Use one of: confusion, curves, "
        "weights, importance.\n"
    )


def test_studies_counts_every_state_and_the_last_activity(fakes, tmp_path: Path) -> None:
    from datetime import datetime

    from sqlalchemy import text

    from ablate.db import list_studies, make_engine

    trials = [*fakes.fusion_trials(), fakes.FakeTrial({"model.fusion": "max"}, 2, "interrupted")]
    url = fakes.build_db(tmp_path / "s.sqlite", fakes.fusion_spec(), trials)
    engine = make_engine(url, create=False)
    with engine.begin() as connection:  # known times: the study written long before its trials
        connection.execute(
            text(
                "update ablate_study set created_at = '2025-01-01 00:00:00', "
                "updated_at = '2025-01-01 00:00:00'"
            )
        )
        connection.execute(
            text(
                "update ablate_trial set started_at = '2026-03-01 09:00:00', "
                "heartbeat_at = '2026-03-01 09:00:00', finished_at = NULL"
            )
        )
        connection.execute(text("update ablate_trial set heartbeat_at = '2026-03-04 12:34:00' "
                                "where state = 'interrupted'"))  # fmt: skip
    (summary,) = list_studies(engine)
    assert summary.counts == {"complete": 8, "failed": 2, "interrupted": 1}
    assert summary.updated_at == datetime(2026, 3, 4, 12, 34)
    result = runner.invoke(app, ["studies", "--storage", url], terminal_width=200)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    header = next(line for line in lines if "interrupted" in line)
    assert header.replace("┃", " ").split()[:8] == [
        "name", "kind", "complete", "running", "interrupted", "failed", "pruned", "last",
    ]  # fmt: skip
    row = next(line for line in lines if "fusion" in line)
    assert row.replace("│", " ").split() == [
        "fusion", "grid", "8", "0", "1", "2", "0", "2026-03-04", "12:34",
    ]  # fmt: skip


def test_export_has_a_column_per_factor_and_percent_columns(
    fusion_url: str, tmp_path: Path
) -> None:
    import csv

    args = ["export", "-s", "fusion", "-o", str(tmp_path), "--storage", fusion_url]
    assert runner.invoke(app, args).exit_code == 0
    with (tmp_path / "fusion_results.csv").open() as handle:
        results = list(csv.DictReader(handle))
    assert results[0]["model.fusion"] == "concat"
    assert float(results[0]["accuracy_pct"]) == pytest.approx(100 * float(results[0]["accuracy"]))
    with (tmp_path / "fusion_trials.csv").open() as handle:
        trials = list(csv.DictReader(handle))
    assert {t["model.fusion"] for t in trials} == {"concat", "sum", "max"}
    assert {t["current_version"] for t in trials} == {"True"}
