"""A URFC trial trains to the same numbers whichever data path holds its rows, and says which
path it took and the memory it peaked at."""

from __future__ import annotations

from pathlib import Path

from ablate.data._placement import DataPlacement
from ablate.spec import grid_trials, parse_study
from ablate.tasks.urfc import URFC
from ablate.train import NullReporter
from ablate.train.fit import fit
from tests.conftest import TINY_STUDY


def _train(tmp_path: Path, path: str):
    text = TINY_STUDY.format(name="paths", epochs=2, modalities="[fused]", seeds="[0]")
    config = grid_trials(parse_study(text))[0]
    report = NullReporter()
    result = fit(
        config, device="cpu", data_root=tmp_path / "data", checkpoint_path=None, report=report,
        task=URFC(DataPlacement(path)),
    )  # fmt: skip
    return result, report


def test_stream_and_resident_train_to_the_same_numbers(tmp_path: Path) -> None:
    resident, resident_report = _train(tmp_path, "resident")
    stream, stream_report = _train(tmp_path, "stream")

    def epochs(report: NullReporter) -> list[tuple]:
        return [(e.train_loss, e.val_loss, e.val_accuracy, e.lr, e.extras) for e in report.epochs]

    assert len(resident_report.epochs) == 2
    assert epochs(stream_report) == epochs(resident_report)
    assert (stream.val, stream.test, stream.best_epoch, stream.objective) == (
        resident.val, resident.test, resident.best_epoch, resident.objective,
    )  # fmt: skip
    assert (resident.data_path, stream.data_path) == ("resident", "stream")
    for result, report in ((resident, resident_report), (stream, stream_report)):
        assert result.peak_memory_bytes is not None and result.peak_memory_bytes > 2**20
        [(early, path)] = report.measurements  # once, after the first training batch
        assert path == result.data_path and 0 < early <= result.peak_memory_bytes
