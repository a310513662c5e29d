"""The built-in URFC trainer is a task on the task interface; its numbers did not move.

The values were computed by ``fit`` before the task interface existed (commit 602e4d3) on
one CPU thread; a change that alters any of them changes every stored study's numbers.

Losses are compared to 1e-4 relative, not bit for bit: torch's CPU kernels pick their vector
code by the processor's instruction set, so another machine's float sums differ in the last
bits (the 5th session's VM gave 2.2183091905 for 2.2183099441, 3e-7 apart, on the very code
that pinned them, and 5e-6 relative by the second epoch; a real change to the data, the model
or the loss moves them by far more). Bit-identity on one machine is what the resume and
data-path tests check; accuracies, counts, FLOPs and the run key stay exact here."""

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


def _close(*values: float) -> tuple:
    return tuple(pytest.approx(v, rel=1e-4, abs=0.0) for v in values)


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
    epochs = [(e.train_loss, e.val_loss, e.val_accuracy, e.lr) for e in report.epochs]
    assert [(e[2], e[3]) for e in epochs] == [(e[2], e[3]) for e in EPOCHS]
    assert [(e[0], e[1]) for e in epochs] == [_close(e[0], e[1]) for e in EPOCHS]
    for scores, pinned in ((result.val, VAL), (result.test, TEST)):
        assert (scores.accuracy, scores.kappa, scores.macro_f1) == pinned[:3]
        assert scores.loss == _close(pinned[3])[0]
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
