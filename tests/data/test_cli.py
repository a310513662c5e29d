"""``ablate data`` commands: exit codes, exact messages, help text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate.cli import app, main

runner = CliRunner()


def test_prepare_wrong_directory_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    (tmp_path / "raw").mkdir()
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "prepare", str(tmp_path / "raw"), "--out", str(tmp_path / "c")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert " ".join(err.split()) == (
        f"error: No URFC data in {tmp_path / 'raw'}: expected "
        "train_image/train/00x/<id>_<class>.jpg with train_visit/<id>_<class>.txt, and/or "
        "test_image/test/<id>.jpg with test_visit/test/<id>.txt."
    )


def test_prepare_and_info(raw_small: Path, tmp_path: Path) -> None:
    out = tmp_path / "cache"
    result = runner.invoke(app, ["data", "prepare", str(raw_small), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "cache ready" in result.output and "no problems found" in result.output
    result = runner.invoke(app, ["data", "info", str(out), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output)["n_samples"] == 96
    result = runner.invoke(app, ["data", "info", str(out)])
    assert result.exit_code == 0 and "Residential area" in result.output


def test_prepare_lists_problems(raw_copy: Path, tmp_path: Path) -> None:
    (raw_copy / "train_visit" / "000000_001.txt").unlink()
    result = runner.invoke(app, ["data", "prepare", str(raw_copy), "--out", str(tmp_path / "c")])
    assert result.exit_code == 0
    assert "1 problems" in result.output
    assert "train_image/train/001/000000_001.jpg: has no visit file" in result.output


def test_info_of_a_non_cache_exits_2(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "info", str(tmp_path)])
    assert exit_info.value.code == 2


def test_unknown_preset(raw_small: Path, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "prepare", str(raw_small), "--out", str(tmp_path), "--preset", "huge"])
    assert exit_info.value.code == 2
    assert "Unknown --preset 'huge'; use 'small' or 'large'." in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["prepare"], ["synth"], ["info"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, ["data", *command, "--help"])
    assert result.exit_code == 0
    assert len(result.output.strip()) > 80
