"""``ablate check``: a tiny run, interrupted and resumed, must repeat an uninterrupted one."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate.cli import app
from ablate.errors import UsageError
from ablate.scheduler.check import Verdict, plan_check
from ablate.spec import load_study
from tests.conftest import tiny_study


@pytest.fixture
def study(workdir: Path) -> Path:
    return tiny_study(workdir / "tiny.yaml", epochs=5, modalities="[fused]", seeds="[3]")


def check(*args: str):
    return CliRunner().invoke(app, ["check", *args])


def test_the_plan_is_the_first_run_shrunk_and_says_what_was_shrunk(study):
    spec, _ = load_study(study)
    plan = plan_check(spec, epochs=3, train_limit=100, batch_size=32)
    assert plan.config.seed == 3 and plan.config.cell == {"model.modality": "fused"}
    assert (plan.config.train.epochs, plan.config.train.batch_size) == (3, 32)
    assert plan.config.data.train_limit == 100
    assert plan.shrunk == (
        "train.epochs 5 → 3", "data.train_limit — → 100", "train.batch_size 64 → 32"
    )  # fmt: skip
    assert plan_check(spec, epochs=5).shrunk == ()


def test_a_stop_that_leaves_nothing_to_resume_is_bad_input(study):
    spec, _ = load_study(study)
    message = (
        "--stop-after 3 with --epochs 3: the check stops after an epoch and resumes before "
        "the last, so it needs 1 <= --stop-after < --epochs."
    )
    with pytest.raises(UsageError) as info:
        plan_check(spec, epochs=3, stop_after=3)
    assert str(info.value) == message
    result = check(str(study), "--stop-after", "3")
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {message}"


def test_exit_codes():
    assert Verdict.VERIFIED.exit_code == 0
    assert Verdict.DIFFERS.exit_code == Verdict.NOT_DETERMINISTIC.exit_code == 1


@pytest.mark.slow
def test_a_built_in_study_resumes_exactly(study, workdir):
    result = check(str(study), "--data-dir", str(workdir / "data"))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:3] == [
        "check of tiny: its first run (modality=fused, seed 3) on the CPU, 1 torch thread",
        "shrunk: train.epochs 5 → 3",
        "[1/4] uninterrupted run, 3 epochs",
    ]
    assert "[4/4] resumed run, from the checkpoint of epoch 1" in lines
    assert lines[-2:] == [
        "resume verified: 3 epochs and the final scores are identical",
        "  interrupted after 1 batch of epoch 2, resumed from epoch 1",
    ]
    assert not (workdir / "db").exists()  # no database, no checkpoints of the study


@pytest.mark.slow
def test_an_optimiser_state_that_is_not_restored_is_named(study, workdir, monkeypatch):
    import torch

    monkeypatch.setattr(torch.optim.Optimizer, "load_state_dict", lambda self, state: None)
    result = check(str(study), "--data-dir", str(workdir / "data"))
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[-4].startswith("resume differs: epoch 2 train_loss is ")
    assert lines[-3:] == [
        "  at the start of epoch 2, the optimiser state differed from the uninterrupted run's",
        "  the optimiser state is not restored",
        "  interrupted after 1 batch of epoch 2, resumed from epoch 1",
    ]


@pytest.mark.slow
def test_a_data_order_kept_by_the_process_is_named(study, workdir, monkeypatch):
    from ablate.data.loader import DeviceData

    real = DeviceData.batches

    def batches(self, split, *, epoch, **kwargs):  # counts epochs instead of being told
        if split == "train":
            self.passes = epoch = getattr(self, "passes", 0) + 1
        return real(self, split, epoch=epoch, **kwargs)

    monkeypatch.setattr(DeviceData, "batches", batches)
    result = check(str(study), "--data-dir", str(workdir / "data"))
    assert result.exit_code == 1, result.output
    assert "  the first batch differed from the uninterrupted run's" not in result.output
    assert (
        "  at the start of epoch 2, the first batch differed from the uninterrupted run's\n"
        "  the data order depends on the process rather than on (seed, epoch)\n"
    ) in result.output


@pytest.mark.slow
def test_a_task_that_is_not_deterministic_is_told_apart(study, workdir, monkeypatch):
    import ablate.train.fit

    seeds = itertools.count()
    real = ablate.train.fit.seed_everything
    monkeypatch.setattr(ablate.train.fit, "seed_everything", lambda seed: real(next(seeds)))
    result = check(str(study), "--data-dir", str(workdir / "data"))
    assert result.exit_code == 1, result.output
    assert "[3/4]" not in result.output  # nothing to compare a resume with
    assert (
        "two uninterrupted runs already differ: the task is not deterministic; resume cannot "
        "be checked\n  first difference: epoch 1 train_loss is "
    ) in result.output
