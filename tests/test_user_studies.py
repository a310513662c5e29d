"""The studies the user types (studies/*.yaml), shrunk to CPU size, end to end via the CLI.

Only sizes change (data, backbone, widths, epochs, seeds, trial count); every factor, searched
parameter, pruner and loss setting stays as written.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ablate.cli import app
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def _shrunk(name: str, folder: Path) -> Path:
    spec = yaml.safe_load((REPO / "studies" / f"{name}.yaml").read_text())
    spec["data"] = {"source": "synthetic", "n": 270, "image_size": 16}
    spec["model"]["image"]["backbone"] = "test_resnet"
    spec["model"]["visit"]["width"] = 8
    spec["model"]["embed_dim"] = 16
    spec["train"].update(epochs=2, batch_size=64, warmup_epochs=0)
    spec["seeds"] = spec["seeds"][:1]
    spec.pop("resources", None)
    if "search" in spec:
        spec["search"]["n_trials"] = 3
        spec["search"]["pruner"]["warmup_epochs"] = 0
        spec["search"]["pruner"]["startup_trials"] = 1
        spec["search"]["confirm"]["top_k"] = 1  # the best trial and the baseline, at 1 seed
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.mark.parametrize("name", ["modality", "loss_variants", "loss_weights", "fusion"])
def test_user_study_runs_shrunk(name: str, workdir: Path) -> None:
    study = _shrunk(name, workdir)
    result = CliRunner().invoke(
        app, ["run", str(study), "--cpu-slots", "2", "--threads-per-slot", "1", "--no-live"]
    )
    assert result.exit_code == 0, result.output
    con = sqlite3.connect(workdir / "db" / "ablate.sqlite")
    states = dict(con.execute("select state, count(*) from ablate_trial group by state"))
    expected = {"modality": 3, "loss_variants": 4, "loss_weights": 3 + 2, "fusion": 10}[name]
    assert states.get("complete", 0) + states.get("pruned", 0) == expected, states
    assert states.get("failed", 0) == 0
    params, flops = con.execute(
        "select min(n_params), min(flops) from ablate_trial where state='complete'"
    ).fetchone()
    assert params > 0 and flops > 0
    terms = {row[0] for row in con.execute("select distinct name from ablate_epoch_metric")}
    con.close()
    assert "loss.ce" in terms
    if name == "loss_variants":
        assert {"loss.deep_supervision", "loss.distillation"} <= terms
    if name == "fusion":
        assert {"cen.exchanged_fraction", "loss.cen_l1", "gated.rs_weight"} <= terms
    table = CliRunner().invoke(app, ["table", "--study", name, "--format", "markdown"])
    assert table.exit_code == 0, table.output
