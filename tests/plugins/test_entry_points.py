"""An installed package offers a fusion through the ``ablate.plugins`` entry-point group: a
study names it without listing any plugin file, and its version is recorded with each run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate._plugins import entry_point_refs
from ablate.cli import app
from ablate.scheduler._provenance import package_versions
from ablate.spec import plugin_refs
from tests.conftest import tiny_study

RUNNER = CliRunner()
PLUGIN = """
import ablate


class ScaledSum(ablate.Fusion):
    def __init__(self, embed_dim: int, scale: float) -> None:
        super().__init__(out_dim=embed_dim)
        self.scale = scale

    def forward(self, rs, social):
        return ablate.FusionResult(self.scale * (rs.embedding + social.embedding))


@ablate.register_fusion("installed_sum", description="an installed package's fusion")
def installed_sum(*, embed_dim: int, scale: float = 1.0) -> ScaledSum:
    return ScaledSum(embed_dim, scale)
"""


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A distribution 'mylab-fusions' 1.2 on sys.path, with one entry point."""
    site = tmp_path / "site"
    (site / "mylab_fusions").mkdir(parents=True)
    (site / "mylab_fusions" / "__init__.py").write_text(PLUGIN)
    info = site / "mylab_fusions-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mylab-fusions\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text("[ablate.plugins]\nfusions = mylab_fusions\n")
    (info / "top_level.txt").write_text("mylab_fusions\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", f"{site}:{Path(__file__).parents[2]}")
    package_versions.cache_clear()  # read once per process: an earlier test may have read it
    yield site
    sys.modules.pop("mylab_fusions", None)
    package_versions.cache_clear()


def test_an_installed_plugin_is_found_and_listed(installed: Path, workdir: Path) -> None:
    [ref] = [r for r in entry_point_refs() if r.module == "mylab_fusions"]
    assert ref.text == "entry point fusions"
    study = tiny_study(workdir / "tiny.yaml", modalities="[fused]", seeds="[0]")
    assert ref in plugin_refs(*_spec(study))
    listed = RUNNER.invoke(app, ["models", "--json", "--image-size", "16", "--study", str(study)])
    assert listed.exit_code == 0, listed.output
    [row] = [r for r in json.loads(listed.output) if r["name"] == "installed_sum"]
    assert row["kind"] == "fusion"


def test_a_study_names_an_installed_fusion_and_records_its_version(
    installed: Path, workdir: Path
) -> None:
    study = tiny_study(workdir / "tiny.yaml", modalities="[fused]", seeds="[0]", epochs=1)
    study.write_text(study.read_text().replace("fusion: concat", "fusion: installed_sum"))
    assert RUNNER.invoke(app, ["run", str(study), "--dry-run"]).exit_code == 0
    result = RUNNER.invoke(app, ["run", str(study), "--no-live", "--threads-per-slot", "1"])
    assert result.exit_code == 0, result.output
    import sqlite3

    con = sqlite3.connect(workdir / "db" / "ablate.sqlite")
    [(versions,)] = con.execute("select versions from ablate_trial").fetchall()
    con.close()
    assert json.loads(versions)["plugin fusions"] == "mylab-fusions==1.2"


def _spec(study: Path):
    from ablate.spec import load_study

    return load_study(study)[0], study
