"""The built-in URFC trainer is a task on the task interface; its numbers did not move.

The values were computed by ``fit`` before the task interface existed (commit 602e4d3) on
one CPU thread; a change that alters any of them changes every stored study's numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablate.spec import grid_trials, parse_study
from ablate.train import NullReporter
from ablate.train.fit import fit
from tests.conftest import TINY_STUDY

pytestmark = pytest.mark.slow

EPOCHS = [  # train_loss, val_loss, val_accuracy, lr
    (2.218309944058642, 2.1969725997359664, 0.1111111111111111, 0.0022500000000000003),
    (2.0582946023823303, 2.1928223503960504, 0.1111111111111111, 0.00020096189432334193),
]
VAL = (0.1111111111111111, 0.0, 0.022222222222222223, 2.1969725997359664)
TEST = (0.1111111111111111, 0.0, 0.022222222222222223, 2.197927545618128)


def test_a_tiny_urfc_trial_gives_the_numbers_it_gave_before(tmp_path: Path) -> None:
    import torch

    text = TINY_STUDY.format(name="pin", epochs=2, modalities="[fused]", seeds="[0]")
    config = grid_trials(parse_study(text))[0]
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        report = NullReporter()
        result = fit(config, device="cpu", data_root=tmp_path / "data", checkpoint_path=None,
                     report=report)  # fmt: skip
    finally:
        torch.set_num_threads(before)
    assert [(e.train_loss, e.val_loss, e.val_accuracy, e.lr) for e in report.epochs] == EPOCHS
    for scores, pinned in ((result.val, VAL), (result.test, TEST)):
        assert (scores.accuracy, scores.kappa, scores.macro_f1, scores.loss) == pinned
    assert result.test.classes.confusion == tuple(tuple(6 if j == 6 else 0 for j in range(9))
                                                  for _ in range(9))  # fmt: skip
    assert (
        len(result.test.classes.names) == 9 and result.test.classes.names[0] == "Residential area"
    )
    assert (result.n_params, result.flops, config.run_key) == (
        379441,
        4880192.0,
        "ef192348ad9fb2f3617a",
    )
