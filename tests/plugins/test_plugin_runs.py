"""Plugins through ``ablate run``: the example fusion against concat, a plugin loss term
logged per epoch, user code that fails to import or raises in forward."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate.cli import app
from tests.conftest import REPO, tiny_study

RUNNER = CliRunner()
EXAMPLE = REPO / "examples" / "fusion_film"


def _run(*args: str):
    return RUNNER.invoke(app, [*args], catch_exceptions=False)


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.slow
def test_example_fusion_with_its_option_in_a_grid_against_concat(workdir: Path) -> None:
    result = _run("run", str(EXAMPLE / "film_vs_concat.yaml"), "--no-live", "--cpu-slots", "2")
    assert result.exit_code == 0, result.output
    assert "4/4 complete, 0 failed attempts" in result.output
    table = _run("table", "--study", "film_vs_concat", "--format", "csv")
    assert table.exit_code == 0, table.output
    rows = [line.split(",") for line in table.output.splitlines()[1:]]
    assert [r[1:3] for r in rows if r[0] == "measured"] == [["concat", "2"], ["film", "2"]]
    listed = _run("models", "--json", "--image-size", "16", "--study",
                  str(EXAMPLE / "film_vs_concat.yaml"))  # fmt: skip
    [film] = [row for row in json.loads(listed.output) if row["name"] == "film"]
    assert film["options"] == [
        {"setting": "model.fusion_options.hidden", "type": "int", "default": "32"}
    ]
    assert film["source"].startswith(str(EXAMPLE / "film.py")) and film["param_count"] > 0


FOCAL = """\
import torch.nn.functional as F

import ablate


@ablate.register_loss_term("focal_test", description="focal loss on the fused head")
def focal(out: ablate.ModelOutput, targets, *, gamma: float = 2.0):
    ce = F.cross_entropy(out.logits, targets, reduction="none")
    return ((1 - (-ce).exp()) ** gamma * ce).mean()
"""


@pytest.mark.slow
def test_a_plugin_loss_term_is_logged_per_epoch(workdir: Path) -> None:
    (workdir / "focal.py").write_text(FOCAL)
    study = tiny_study(
        workdir / "focal.yaml", name="focal", modalities="[fused]", seeds="[0]",
        extra="plugins: [focal.py]\nloss: {terms: {focal_test: {weight: 0.5, gamma: 1.0}}}\n",
    )  # fmt: skip
    result = _run("run", str(study), "--no-live")
    assert result.exit_code == 0, result.output
    con = sqlite3.connect(workdir / "db" / "ablate.sqlite")
    rows = con.execute(
        "select epoch, value from ablate_epoch_metric where name = 'loss.focal_test' "
        "order by epoch"
    ).fetchall()
    con.close()
    assert [epoch for epoch, _ in rows] == [1, 2] and all(v > 0 for _, v in rows)


@pytest.mark.slow
def test_a_plugin_that_does_not_import_stops_the_run_before_anything_is_written(
    workdir: Path,
) -> None:
    (workdir / "broken.py").write_text("import ablate\n\nvalue = 1 / 0\n")
    study = tiny_study(
        workdir / "b.yaml", name="broken", seeds="[0]", extra="plugins: [broken.py]\n"
    )
    result = _run("run", str(study), "--no-live", "--threads-per-slot", "1")
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[-1] == (
        f"error: Plugin broken.py does not import: {workdir / 'broken.py'}:3: "
        "ZeroDivisionError: division by zero"
    )
    con = sqlite3.connect(workdir / "db" / "ablate.sqlite")
    assert con.execute("select count(*) from ablate_study").fetchone()[0] == 0
    assert con.execute("select count(*) from ablate_trial").fetchone()[0] == 0
    con.close()


BOOM = """\
import ablate


class Boom(ablate.Fusion):
    def forward(self, rs, social):
        raise RuntimeError("the idea does not work yet")


@ablate.register_fusion("boom_test", description="raises in forward")
def boom(*, embed_dim: int) -> Boom:
    return Boom(embed_dim)
"""


@pytest.mark.slow
def test_an_exception_in_a_plugins_forward_fails_its_trial_only(workdir: Path) -> None:
    (workdir / "boom.py").write_text(BOOM)
    study = tiny_study(
        workdir / "boom.yaml", name="boom", modalities="[fused]", seeds="[0]",
        extra="plugins: [boom.py]\nresources: {max_retries: 0}\n",
    )  # fmt: skip
    study.write_text(
        study.read_text().replace("grid:\n", "grid:\n  model.fusion: [concat, boom_test]\n")
    )
    study.write_text(
        study.read_text().replace(
            "baseline: {model.modality: fused}", "baseline: {model.fusion: concat}"
        )
    )
    result = _run("run", str(study), "--no-live", "--threads-per-slot", "1")
    assert result.exit_code == 1, result.output
    con = sqlite3.connect(workdir / "db" / "ablate.sqlite")
    rows = dict(
        con.execute(
            "select json_extract(cell, '$.\"model.fusion\"'), state || '|' || coalesce(error, '') "
            "from ablate_trial"
        ).fetchall()
    )
    con.close()
    assert rows["concat"].startswith("complete")
    assert rows["boom_test"].startswith("failed")
    assert f'File "{workdir / "boom.py"}", line 6, in forward' in rows["boom_test"]
    assert "RuntimeError: the idea does not work yet" in rows["boom_test"]
