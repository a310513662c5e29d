"""The package's one way of importing a public name on first use (PEP 562).

``report`` and ``scheduler`` re-export names whose modules import matplotlib, python-pptx or
Optuna (0.1–0.3 s each); loading them eagerly would make ``ablate table`` and ``ablate status``
pay for what they never use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``homes`` maps each lazy name to the submodule
    that defines it. Nothing is cached, so a test that patches the submodule is always seen."""

    def __getattr__(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module '{package}' has no attribute '{name}'")
        return getattr(import_module(f"{package}.{homes[name]}"), name)

    return __getattr__
