"""Command line: thin commands over the library (each module registers its commands)."""

# Commands are listed in --help in registration order: the everyday ones first.
from ablate.cli import run, report, models, data, cluster, check, rerun  # noqa: F401, I001  (registers commands)
from ablate.cli._app import app, main

__all__ = ["app", "main"]
