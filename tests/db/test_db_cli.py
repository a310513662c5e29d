"""`ablate db upgrade|copy` and `ablate dashboard` through the CLI (exit codes and messages)."""

from __future__ import annotations

import sys
import types

import pytest
from typer.testing import CliRunner

import ablate.cli.cluster  # noqa: F401  (registers the commands)
from ablate.cli import app
from tests.db.test_copy import populate

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_every_command_has_help_text():
    for command in (["slurm"], ["dashboard"], ["db"], ["db", "upgrade"], ["db", "copy"]):
        result = invoke(*command, "--help")
        assert result.exit_code == 0
        assert "Usage:" in result.output and len(result.output) > 300


def test_db_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    result = invoke("db", "upgrade", "--storage", url)
    assert result.exit_code == 0
    assert " ".join(result.output.split()) == (  # rich wraps long paths at any space
        f"Upgraded {url} from schema revision empty to 0001."
    )
    result = invoke("db", "upgrade", "--storage", url)
    assert " ".join(result.output.split()) == (
        f"{url} is already at the newest schema revision (0001)."
    )


def test_db_upgrade_reads_ablate_storage(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'env.sqlite'}"
    monkeypatch.setenv("ABLATE_STORAGE", url)
    assert "0001" in invoke("db", "upgrade").output
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
    populate(dst)
    with pytest.raises(SystemExit) as exit_info:
        main(["db", "copy", "--from", src, "--to", dst])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.replace("\n", "")
    assert err.startswith("error: Study 'fusion' already exists in")


def test_dashboard_without_the_package(monkeypatch, capsys):
    from ablate.cli import main

    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(SystemExit) as exit_info:
        main(["dashboard"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.replace("\n", "") == (
        "error: optuna-dashboard is not installed; pip install 'ablate[dashboard]' "
        "(or: pip install optuna-dashboard), then run 'ablate dashboard' again."
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
