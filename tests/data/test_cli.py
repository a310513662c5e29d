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


# -- synth refuses to mix into a folder that holds something --------------------------------


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_synth_into_a_non_empty_folder_exits_2(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["data", "synth", "--out", str(out), "--n", "9"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --out {out} is not empty (1 entries: notes.txt); choose a new or empty folder, "
        "or pass --force to write into it (files of the same name are overwritten).\n"
    )
    assert _files(out) == [out / "notes.txt"]


def test_synth_force_writes_into_a_non_empty_folder(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["data", "synth", "--out", str(out), "--n", "9", "--force"])
    assert result.exit_code == 0, result.output
    assert len(_files(out)) == 1 + 2 * 9


def test_synth_into_an_empty_or_new_folder_needs_no_force(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "empty", tmp_path / "new"):
        result = runner.invoke(app, ["data", "synth", "--out", str(out), "--n", "9"])
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("answer", "code", "written"), [("n\n", 1, 0), ("y\n", 0, 18)])
def test_synth_asks_in_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: str, code: int, written: int
) -> None:
    from ablate.cli import data as data_cli

    monkeypatch.setattr(data_cli, "_interactive", lambda: True)
    out = tmp_path / "raw"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["data", "synth", "--out", str(out), "--n", "9"], input=answer)
    assert result.exit_code == code
    assert "Write synthetic files into it anyway? [y/N]" in result.output
    assert len(_files(out)) == 1 + written


def test_synth_onto_a_file_exits_2(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    out.write_text("x")
    result = runner.invoke(app, ["data", "synth", "--out", str(out)])
    assert result.exit_code == 2
    assert result.stderr == f"error: --out {out} is a file; name a folder (new or empty).\n"


# -- info shows the problems themselves; decode reasons name the file ----------------------


def test_info_lists_problems_with_file_line_and_reason(raw_copy: Path, tmp_path: Path) -> None:
    bad = sorted((raw_copy / "train_visit").glob("*.txt"))[0]
    lines = bad.read_bytes().splitlines(keepends=True)
    bad.write_bytes(lines[0] + b"not a visit line\n" + b"".join(lines[1:]))
    second = sorted((raw_copy / "train_visit").glob("*.txt"))[1].stem
    image = f"train_image/train/002/{second}.jpg"
    (raw_copy / image).write_bytes(b"junk")
    cache = tmp_path / "cache"
    result = runner.invoke(app, ["data", "prepare", str(raw_copy), "--out", str(cache)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["data", "info", str(cache)])
    assert result.exit_code == 0, result.output
    out = result.output.splitlines()
    assert out[-3:] == [
        "2 problems (samples skipped):",
        f"  train_visit/{bad.name}:2: line does not parse as '<16 hex user id>\\t<YYYYMMDD>&"
        "<HH>|<HH>,<YYYYMMDD>&<HH>...'",
        f"  {image}: cannot decode JPEG (cannot identify image file {image})",
    ], result.output
    assert "BytesIO" not in result.output


def test_info_shows_the_first_20_problems(raw_copy: Path, tmp_path: Path) -> None:
    for path in sorted((raw_copy / "train_visit").glob("*.txt"))[:25]:
        path.unlink()
    cache = tmp_path / "cache"
    result = runner.invoke(app, ["data", "prepare", str(raw_copy), "--out", str(cache)])
    assert result.exit_code == 0, result.output
    problems = json.loads(runner.invoke(app, ["data", "info", str(cache), "--json"]).output)[
        "problems"
    ]
    result = runner.invoke(app, ["data", "info", str(cache)])
    assert result.exit_code == 0, result.output
    out = result.output.splitlines()
    start = out.index("25 problems (samples skipped):")
    assert out[start + 1 :] == [
        *(f"  {p['file']}: {p['reason']}" for p in problems[:20]),
        f"  ... and 5 more (all in {cache / 'manifest.json'}, or 'ablate data info {cache} "
        "--json')",
    ]


# -- info: size on disk and the memory a trial needs ----------------------------------------


def test_info_shows_size_on_disk_and_trial_memory(cache_small: Path) -> None:
    from ablate.data._memory import ROW_BYTES, disk_bytes

    options = ["--train-limit", "20", "--batch-size", "16", "--eval-batch-size", "32"]
    result = runner.invoke(app, ["data", "info", str(cache_small), *options, "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["disk_bytes"] == disk_bytes(cache_small) > 0
    assert shown["trial_memory"] == {
        "rows": {"train": 20, "val": 18, "test": 18},
        "resident_bytes": {"train": 20 * ROW_BYTES, "val": 18 * ROW_BYTES, "test": 18 * ROW_BYTES},
        "batch_rows": 18,  # an evaluation batch of 32 is cut to the 18 rows of val and test
        "streaming_bytes": 4 * 18 * ROW_BYTES,
    }
    result = runner.invoke(app, ["data", "info", str(cache_small), *options])
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.strip("│ ").split()) for line in result.output.splitlines()]
    on_disk = f"{disk_bytes(cache_small) / 1e6:,.1f} MB"
    assert f"size on disk │ {on_disk}" in lines
    assert (
        "trial data, resident │ train 774.9 kB + val 697.4 kB + test 697.4 kB = 2.2 MB "
        "(train_limit 20)"
    ) in lines
    assert "trial data, streaming │ 2.8 MB (4 batches of 18 rows)" in lines


def test_prepare_progress_names_its_phase_with_rate_and_eta() -> None:
    from ablate.cli import data as data_cli

    bar = data_cli._progress_bar()  # not started: nothing is drawn
    task = bar.add_task(data_cli.PHASES[0], total=None)
    update = data_cli._on_progress(bar, task)
    update(0, 96)
    assert bar.tasks[0].description == "decoding"
    update(48, 96)
    update(96, 96)
    assert bar.tasks[0].description == "writing arrays"
    columns = {type(column).__name__ for column in bar.columns}
    assert {"_Rate", "TimeRemainingColumn", "MofNCompleteColumn"} <= columns
