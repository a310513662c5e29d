"""Command line: thin commands over the library (each module registers its commands)."""

from ablate.cli import cluster, data, models, report, run  # noqa: F401  (registers commands)
from ablate.cli._app import app, main

__all__ = ["app", "main"]
