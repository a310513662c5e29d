"""The Typer app and the one place where library errors become messages and exit codes."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from typer.core import TyperGroup

from ablate.errors import AblateError

# Output that is not a terminal (a pipe, a nohup log, CliRunner) is not wrapped at 80 columns:
# table rows stay one line each and long messages stay whole. $COLUMNS still wins.
PIPE_WIDTH = 1000


class _Console(Console):
    """A rich console that wraps at the terminal's width, and not at all outside a terminal."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self.is_terminal or os.environ.get("COLUMNS", "").isdigit():
            return size
        return ConsoleDimensions(PIPE_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)


console = _Console()
err_console = _Console(stderr=True)


def _debug() -> bool:
    return bool(os.environ.get("ABLATE_DEBUG"))


class _AblateGroup(TyperGroup):
    """Turns a library error into one line on stderr and its exit code (2 input, 1 failure)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except AblateError as exc:
            if _debug():
                traceback.print_exc()
            err_console.print(
                f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    cls=_AblateGroup,
    name="ablate",
    help=(
        "Ablation studies for multimodal deep learning: define a study in YAML, train every "
        "cell × seed on free GPUs or CPU slots, store everything in a results database, and "
        "turn it into tables, figures and slides."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain Click help for every command and sub-group: Typer's rich help parses help text as
    # markup (so "pip install '...[dashboard]'" lost "[dashboard]") and prints a "<bool>"
    # type for every flag, which takes no value.
    rich_markup_mode=None,
    context_settings={"max_content_width": 120},  # use a wide terminal (Click stops at 80)
)

STORAGE_HELP = (
    "Results database URL: sqlite:///path.sqlite or postgresql+psycopg://user@host/db. "
    "Default: $ABLATE_STORAGE, else sqlite:///db/ablate.sqlite (relative to the current folder)."
)
# Every command that reads or writes the results database takes it as ``storage: StorageOption
# = None`` and turns it into a URL with ``storage_url``.
StorageOption = Annotated[str | None, typer.Option("--storage", help=STORAGE_HELP)]


def storage_url(option: str | None) -> str:
    """The storage URL from --storage, $ABLATE_STORAGE, or the default SQLite file."""
    from ablate.db import DEFAULT_STORAGE

    return option or os.environ.get("ABLATE_STORAGE") or DEFAULT_STORAGE


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    if debug:
        os.environ["ABLATE_DEBUG"] = "1"


def main(argv: list[str] | None = None) -> None:
    """Entry point. Unexpected exceptions get one line unless --debug asks for the traceback."""
    if "--debug" in (argv if argv is not None else sys.argv[1:]):
        os.environ["ABLATE_DEBUG"] = "1"
    try:
        app(args=argv)
    except KeyboardInterrupt:
        err_console.print(
            "[bold red]Stopped.[/] Run the same command again to continue where it stopped."
        )
        sys.exit(130)
    except Exception as exc:
        if _debug():
            raise
        err_console.print(
            f"[bold red]error:[/] unexpected {exc.__class__.__name__}: {escape(str(exc))} "
            "(run again with --debug for the traceback, and please report it)",
            highlight=False,
        )
        sys.exit(1)
