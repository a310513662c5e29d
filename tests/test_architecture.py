"""Guards the whole package: layering, lint, help text on every command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from ablate.cli import app
from tests.conftest import REPO

BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    return str(BIN / name) if (BIN / name).exists() else shutil.which(name) or name


CONTRACTS = (  # [tool.importlinter] in pyproject.toml: what the layers promise (STYLE.md)
    "ablate layers",
    "spec, db and report never import torch",
    "the training side never imports sqlalchemy, optuna, typer or rich",
)


def test_layers_hold() -> None:
    """cli → report|scheduler → worker → train → models|data|db → spec → errors, and what each
    layer never imports (import-linter)."""
    result = subprocess.run([_tool("lint-imports")], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in CONTRACTS:  # a contract dropped from pyproject.toml is not silently "kept"
        assert f"{name} KEPT" in result.stdout, result.stdout


def test_ruff_is_clean() -> None:
    result = subprocess.run(
        [_tool("ruff"), "check", "."], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _commands(group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if hasattr(command, "commands"):  # a sub-group (Typer ships its own Click classes)
            found.extend(_commands(command, (*prefix, name)))
    return found


def test_every_command_has_help_text() -> None:
    root = typer.main.get_command(app)
    commands = _commands(root)
    assert {("run",), ("table",), ("status",), ("gc",), ("data", "prepare")} <= set(commands)
    for path in commands:
        result = CliRunner().invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage:" in result.output
        command = root
        for part in path:
            command = command.commands[part]  # type: ignore[attr-defined]
        assert (command.help or "").strip(), f"'ablate {' '.join(path)}' has no help text"


def test_table_and_status_start_without_torch() -> None:
    """What ``ablate table`` and ``ablate status`` import stays light (report's and the
    scheduler's heavy names load on first use, see ``ablate._lazy``)."""
    code = (
        "import sys; from ablate.cli import app; import ablate.report, ablate.scheduler.status; "
        "heavy = [m for m in ('torch', 'matplotlib', 'optuna') if m in sys.modules]; "
        "assert not heavy, f'imported {heavy}'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
