"""`ablate db upgrade|copy` and `ablate dashboard` through the CLI (exit codes and messages)."""

from __future__ import annotations

import sys
import types

import optuna
import pytest
from typer.testing import CliRunner

import ablate.cli.cluster  # registers the commands
from ablate.cli import app
from ablate.db._migrate import HEAD
from tests.db.test_copy import T0, add_trial, populate

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_every_command_has_help_text():
    commands = (["slurm"], ["dashboard"], ["db"], ["db", "upgrade"], ["db", "copy"],
                ["db", "rm"], ["db", "rename"])  # fmt: skip
    for command in commands:
        result = invoke(*command, "--help")
        assert result.exit_code == 0
        assert "Usage:" in result.output and len(result.output) > 300


def test_db_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    result = invoke("db", "upgrade", "--storage", url)
    assert result.exit_code == 0
    assert " ".join(result.output.split()) == (  # rich wraps long paths at any space
        f"Upgraded {url} from schema revision empty to {HEAD}."
    )
    result = invoke("db", "upgrade", "--storage", url)
    assert " ".join(result.output.split()) == (
        f"{url} is already at the newest schema revision ({HEAD})."
    )


def test_db_upgrade_reads_ablate_storage(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'env.sqlite'}"
    monkeypatch.setenv("ABLATE_STORAGE", url)
    assert HEAD in invoke("db", "upgrade").output
    assert (tmp_path / "env.sqlite").exists()


def test_db_copy(tmp_path):
    src, dst = f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}"
    populate(src)
    result = invoke("db", "copy", "--from", src, "--to", dst, "--study", "fusion")
    assert result.exit_code == 0
    assert result.output.replace("\n", "") == (
        "Copied study 'fusion': 3 trial(s), 42 result row(s), Optuna study with 3 trial(s) "
        f"→ {dst}"
    )


def test_db_copy_refusal_is_one_line_and_exit_code_2(tmp_path, capsys):
    from ablate.cli import main

    src, dst = f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}"
    populate(src)
    populate(dst, created_at=T0.replace(year=2025))
    with pytest.raises(SystemExit) as exit_info:
        main(["db", "copy", "--from", src, "--to", dst])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.replace("\n", "")
    assert err == (
        f"error: Study 'fusion' in {dst} is another study of that name (created 2025-11-20 "
        "09:00:00, the source's 2026-11-20 09:00:00); nothing was copied. Rename one of them "
        "with 'ablate db rename', or copy into another database."
    )


def test_db_copy_again_merges(tmp_path):
    src, dst = f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}"
    populate(src, n_trials=2)
    invoke("db", "copy", "--from", src, "--to", dst)
    add_trial(src)
    result = invoke("db", "copy", "--from", src, "--to", dst)
    assert result.exit_code == 0
    assert result.output.replace("\n", "") == (
        f"Merged study 'fusion' into {dst}: 1 new trial(s), 0 updated, 14 result row(s), 1 new "
        "Optuna trial(s)."
    )
    result = invoke("db", "copy", "--from", src, "--to", dst)
    assert result.output.replace("\n", "") == (
        f"Study 'fusion' in {dst} is up to date; nothing was copied."
    )


def _flat(output: str) -> str:
    return output.replace("\n", "")  # rich wraps long lines, keeping the space it breaks at


def test_db_rm_asks_first_and_no_keeps_the_study(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    populate(url)
    monkeypatch.setattr(ablate.cli.cluster, "_interactive", lambda: True)
    result = runner.invoke(app, ["db", "rm", "--study", "fusion", "--storage", url], input="\n")
    assert result.exit_code == 1
    assert _flat(result.output) == (
        f"Delete study 'fusion' (3 trial(s) and an Optuna study with 3 trial(s)) from {url}? "
        "[y/N]: Nothing was changed."
    )
    assert optuna.get_all_study_names(storage=url) == ["fusion"]
    result = runner.invoke(app, ["db", "rm", "--study", "fusion", "--storage", url], input="y\n")
    assert result.exit_code == 0
    assert _flat(result.output).endswith(
        f"Deleted study 'fusion' (3 trial(s) and an Optuna study with 3 trial(s)) from {url}."
    )
    assert optuna.get_all_study_names(storage=url) == []


def test_db_rm_without_a_terminal_needs_yes(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    populate(url)
    result = runner.invoke(app, ["db", "rm", "--study", "fusion", "--storage", url])
    assert result.exit_code == 2
    assert _flat(result.output) == (
        "error: Deleting study 'fusion' needs a yes: run it in a terminal, or pass --yes."
    )
    assert optuna.get_all_study_names(storage=url) == ["fusion"]
    result = invoke("db", "rm", "--study", "fusion", "--storage", url, "--yes")
    assert result.exit_code == 0
    assert optuna.get_all_study_names(storage=url) == []


def test_db_rm_unknown_study_is_exit_code_2(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    populate(url)
    result = invoke("db", "rm", "--study", "fuson", "--storage", url, "--yes")
    assert result.exit_code == 2
    assert _flat(result.output) == (
        f"error: No study 'fuson' in {url}; the studies there are: fusion."
    )


def test_db_rename(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    populate(url)
    result = invoke("db", "rename", "--study", "fusion", "--to", "fusion-v1", "--storage", url,
                    "--yes")  # fmt: skip
    assert result.exit_code == 0
    assert _flat(result.output) == (
        f"Renamed study 'fusion' to 'fusion-v1' in {url}; set 'name: fusion-v1' in its YAML to "
        "continue it."
    )
    assert optuna.get_all_study_names(storage=url) == ["fusion-v1"]
    result = invoke("table", "--study", "fusion-v1", "--storage", url, "--format", "markdown")
    assert result.exit_code == 0 and "| concat | 3 |" in result.output


def test_db_rename_onto_a_taken_name_is_refused_before_asking(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    populate(url)
    populate(url, "other", n_trials=1)
    monkeypatch.setattr(ablate.cli.cluster, "_interactive", lambda: True)
    result = runner.invoke(
        app, ["db", "rename", "--study", "fusion", "--to", "other", "--storage", url]
    )
    assert result.exit_code == 2
    assert _flat(result.output) == (
        f"error: A study 'other' already exists in {url}; nothing was renamed. Pick another "
        "name, or delete that one first with 'ablate db rm --study other'."
    )


def test_dashboard_without_the_package(monkeypatch, capsys):
    from ablate.cli import main

    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(SystemExit) as exit_info:
        main(["dashboard"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.replace("\n", "") == (
        "error: optuna-dashboard is not installed; pip install 'ablate-studies[dashboard]' "
        "(or: pip install optuna-dashboard), then run 'ablate dashboard' again."
    )


def test_dashboard_help_keeps_the_extra_in_its_install_hint():
    result = invoke("dashboard", "--help")
    assert result.exit_code == 0
    assert "Needs the optional package: pip install 'ablate-studies[dashboard]'." in " ".join(
        result.output.split()
    )


def test_dashboard_runs_the_server_on_the_storage(monkeypatch):
    calls = []
    fake = types.ModuleType("optuna_dashboard")
    fake.run_server = lambda storage, host, port: calls.append((storage, host, port))
    monkeypatch.setitem(sys.modules, "optuna_dashboard", fake)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object())
    url = "postgresql+psycopg://alice:s3cret@db/ablate"
    result = invoke("dashboard", "--storage", url, "--port", "9000")
    assert result.exit_code == 0
    assert calls == [(url, "127.0.0.1", 9000)]
    assert "s3cret" not in result.output and "alice:***@db" in result.output
