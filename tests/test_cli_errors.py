"""Bad input through the CLI: one line on stderr naming the problem and the fix, exit 2 (input)
or 1 (failure), never 'unexpected ... please report it'."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate.cli import app
from tests.conftest import PG_ADMIN_URL, require, tiny_study

runner = CliRunner()
FIX = "choose the database with --storage URL or $ABLATE_STORAGE"
READ_COMMANDS = (
    ["status"],
    ["studies"],
    ["table", "--study", "x"],
    ["export", "--study", "x", "--format", "csv", "--out", "out"],
    ["gc"],
)


def _invoke(args: list[str]):
    result = runner.invoke(app, args)
    assert "unexpected" not in result.output
    return result


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
@pytest.mark.parametrize("command", ["status", "studies"])
def test_in_memory_storage_is_refused(command: str, url: str) -> None:
    result = _invoke([command, "--storage", url])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: In-memory SQLite ('{url}') would lose every result when ablate exits; give a "
        "file instead, e.g. --storage sqlite:///db/ablate.sqlite.\n"
    )


def test_in_memory_storage_is_refused_by_run(workdir: Path) -> None:
    study = tiny_study(workdir / "tiny.yaml")
    result = _invoke(["run", str(study), "--storage", "sqlite://", "--dry-run"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: In-memory SQLite ('sqlite://') would lose")
    assert not (workdir / "db").exists()


def test_gpus_0_on_a_machine_without_gpus_exits_2(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ablate.scheduler import devices
    from ablate.scheduler._nvml import NvmlUnavailableError

    def no_nvml():
        raise NvmlUnavailableError("NVML Shared Library Not Found")

    monkeypatch.setattr(devices, "load_nvml", no_nvml)
    study = tiny_study(workdir / "tiny.yaml")
    result = _invoke(["run", str(study), "--gpus", "0"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --gpus 0 asks for GPUs, but NVML cannot be loaded (NVML Shared Library Not "
        "Found); is the NVIDIA driver installed? Use --gpus cpu to train on CPU slots.\n"
    )
    assert not (workdir / "db").exists()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://alice@127.0.0.1:1/db?password=s3cret",
        "postgresql+psycopg://alice@127.0.0.1:1/db?sslmode=disable&password=s3cret",
        "postgresql+psycopg://alice:s3cret@127.0.0.1:1/db",
    ],
)
def test_unreachable_postgresql_is_one_line_without_the_password(url: str) -> None:
    result = _invoke(["status", "--storage", url])
    assert result.exit_code == 1
    assert "s3cret" not in result.output
    shown = url.replace("s3cret", "***")
    assert result.stderr == (
        f"error: Cannot reach the results database {shown}: connection failed: connection to "
        'server at "127.0.0.1", port 1 failed: Connection refused; check that the server is '
        f"running and the URL's host, port, user and password, or {FIX}.\n"
    )


@pytest.mark.postgres
def test_missing_postgresql_database() -> None:
    from sqlalchemy import create_engine

    admin = create_engine(PG_ADMIN_URL)
    try:
        with admin.connect():
            pass
    except Exception:
        require(False, f"PostgreSQL at {PG_ADMIN_URL} is not reachable")
    finally:
        admin.dispose()
    name = f"ablate_missing_{uuid.uuid4().hex[:12]}"
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    result = _invoke(["studies", "--storage", url])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: Cannot open the results database {url}: ")
    assert result.stderr.endswith(
        f'database "{name}" does not exist; create it (createdb) and run '
        f"'ablate run STUDY.yaml', or {FIX}.\n"
    )


def test_unknown_driver() -> None:
    result = _invoke(["studies", "--storage", "postgresql+nosuchdriver://u:pw@h/db"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: Unknown database driver 'postgresql+nosuchdriver' in storage URL "
        "'postgresql+nosuchdriver://u:***@h/db'; use sqlite:///path/to/file.sqlite or "
        "postgresql+psycopg://user@host/dbname.\n"
    )


def test_driver_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "psycopg2", None)  # as if not installed
    result = _invoke(["status", "--storage", "postgresql+psycopg2://h/db"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: Storage URL 'postgresql+psycopg2://h/db' needs the Python package 'psycopg2', "
        "which is not installed; pip install psycopg2, or use postgresql+psycopg://.\n"
    )


@pytest.mark.parametrize("command", ["status", "studies"])
def test_storage_path_that_is_a_folder(tmp_path: Path, command: str) -> None:
    result = _invoke([command, "--storage", f"sqlite:///{tmp_path}"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: Storage path {tmp_path} is a folder; name a file in it, e.g. --storage "
        f"sqlite:///{tmp_path}/ablate.sqlite.\n"
    )


@pytest.mark.parametrize("args", READ_COMMANDS, ids=lambda a: a[0])
def test_empty_sqlite_file_says_it_holds_no_results(workdir: Path, args: list[str]) -> None:
    path = workdir / "empty.sqlite"
    path.touch()
    result = _invoke([*args, "--storage", f"sqlite:///{path}"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: The results database {path} is an empty file and holds no ablate results yet "
        "(a run stopped while creating it leaves one); run 'ablate run STUDY.yaml' to fill "
        f"it, or {FIX}.\n"
    )
    assert path.stat().st_size == 0


def test_sqlite_file_without_ablate_tables(workdir: Path) -> None:
    import sqlite3

    path = workdir / "other.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("create table t (x)")
    connection.close()
    result = _invoke(["studies", "--storage", f"sqlite:///{path}"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: The results database {path} holds no ablate results yet; run 'ablate run "
        f"STUDY.yaml' to fill it, or {FIX}.\n"
    )


@pytest.mark.parametrize("command", ["status", "studies"])
def test_default_database_missing_says_where_it_looked(workdir: Path, command: str) -> None:
    result = _invoke([command])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: No results database at {workdir}/db/ablate.sqlite (the default storage "
        "sqlite:///db/ablate.sqlite is relative to the current folder); run 'ablate run "
        f"STUDY.yaml' first, run this from the folder where you ran it, or {FIX}.\n"
    )


# -- help and tables: what a user must type is shown whole ------------------------------------


def _all_commands() -> list[list[str]]:
    import typer

    def walk(group, prefix: list[str]) -> list[list[str]]:
        found = []
        for name, command in group.commands.items():
            found.append([*prefix, name])
            if hasattr(command, "commands"):
                found.extend(walk(command, [*prefix, name]))
        return found

    return [[], *walk(typer.main.get_command(app), [])]


def test_no_help_shows_a_type_for_flags() -> None:
    for path in _all_commands():
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "<bool>" not in result.output, path
        assert "Usage: ablate" in result.output, path
    result = runner.invoke(app, ["run", "--help"])
    assert "  --dry-run   " in result.output and "--live / --no-live" in result.output


def test_dashboard_help_keeps_the_install_extra() -> None:
    import re

    result = runner.invoke(app, ["dashboard", "--help"])
    assert result.exit_code == 0
    assert re.search(r"pip install '[\w-]+\[dashboard\]'", result.output), result.output


@pytest.fixture
def no_costs(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ablate models`` without building every model (the layout is what is tested)."""
    import ablate.models

    monkeypatch.setattr(ablate.models, "option_costs", lambda **_: {})


def _option_rows() -> list[dict]:
    import json

    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_models_lists_samplers_and_pruners(no_costs: None) -> None:
    from ablate.spec._catalog import PRUNERS, SAMPLERS

    rows = _option_rows()
    assert tuple(r["name"] for r in rows if r["kind"] == "sampler") == SAMPLERS
    assert tuple(r["name"] for r in rows if r["kind"] == "pruner") == PRUNERS
    assert all(r["description"] for r in rows), [r["name"] for r in rows if not r["description"]]


def test_models_at_80_columns_shows_every_name_and_setting_whole(
    no_costs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in result.output
    words = {w.strip(",") for line in lines for w in line.split()}
    for row in _option_rows():
        assert row["name"] in words, row["name"]
        for path in row["parameters"]:
            assert path in words, path


def test_models_in_a_pipe_keeps_each_row_on_one_line(
    no_costs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for row in _option_rows():
        name, description = row["name"] + " ", row["description"]
        assert any(x.startswith(name) and description in x for x in lines), row["name"]
