"""Issue 14's journeys through the CLI: a plugin edited between two runs, `ablate check` on the
examples, and a user loop whose checkpoint omits the optimiser state caught by `ablate check`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate.cli import app
from tests.conftest import REPO

pytestmark = pytest.mark.slow
RUNNER = CliRunner()
FAST = ("--no-live", "--cpu-slots", "2", "--threads-per-slot", "1")


def _run(*args: str):
    return RUNNER.invoke(app, list(args), catch_exceptions=False)


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_editing_a_plugin_makes_new_runs_and_never_mixes_them(workdir: Path) -> None:
    folder = workdir / "film"
    shutil.copytree(REPO / "examples" / "fusion_film", folder)
    study = folder / "film_vs_concat.yaml"
    assert _run("run", str(study), *FAST).exit_code == 0
    (folder / "film.py").write_text((folder / "film.py").read_text() + "\n# tried a new idea\n")

    again = _run("run", str(study), *FAST)

    assert again.exit_code == 0, again.output
    assert "4 finished run(s) used an older film.py: kept, not mixed; 4 run(s) to train" in _flat(
        again.output
    )
    assert "4/4 complete" in again.output and "trained 4 trial(s) now" in again.output
    table = _run("table", "--study", "film_vs_concat", "--format", "markdown")
    assert "| concat | 2 |" in table.output and "| film | 2 |" in table.output  # never n=4
    assert "from earlier versions of this study" in _flat(table.output)


@pytest.mark.parametrize(
    "study", ["examples/fusion_film/film_vs_concat.yaml", "examples/digits/digits.yaml"]
)
def test_check_passes_on_the_examples(workdir: Path, study: str) -> None:
    result = _run("check", str(REPO / study), "--epochs", "3")
    assert result.exit_code == 0, result.output
    assert "resume verified: 3 epochs and the final scores are identical" in _flat(result.output)


BROKEN = '''
import torch

def train(config, trial):
    """Saves its model but not its optimiser: a resume silently loses Adam's moments."""
    torch.manual_seed(config.seed)
    x = torch.randn(60, 4, generator=torch.Generator().manual_seed(0))
    y = (x[:, 0] > 0).long()
    model = torch.nn.Linear(4, 2)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    state = trial.restore()
    start = 0
    if state is not None:
        model.load_state_dict(state["model"])  # the optimiser state was never saved
        start = state["epoch"]
    for epoch in range(start + 1, config.train.epochs + 1):
        if trial.should_stop():
            return
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        accuracy = float((model(x).argmax(1) == y).float().mean())
        value = loss.item()
        trial.report_epoch(epoch, train_loss=value, val_loss=value, val_accuracy=accuracy)
        trial.save({"model": model.state_dict(), "epoch": epoch})
    predicted = model(x).argmax(1)
    for split in ("val", "test"):
        trial.predictions(split, y.tolist(), predicted.tolist(), class_names=["no", "yes"])
'''


def test_check_catches_a_loop_that_does_not_save_its_optimiser(workdir: Path) -> None:
    (workdir / "broken.py").write_text(BROKEN)
    study = workdir / "broken.yaml"
    study.write_text("name: broken\ntask: broken.py:train\ntrain: {epochs: 4}\nseeds: [0]\n")

    result = _run("check", str(study), "--epochs", "4")

    assert result.exit_code == 1, result.output
    out = _flat(result.output)
    assert "resume differs: epoch 3 train_loss" in out
    assert (
        "the optimiser state is not saved: the loop's trial.save() holds only model, epoch; save "
        "optimizer.state_dict() (and any scheduler or scaler) and load it back after "
        "trial.restore()"
    ) in out
