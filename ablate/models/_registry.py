"""Name → factory registries, timm-style: a decorator to register, a lookup with close matches."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ablate.errors import UsageError

F = TypeVar("F", bound=Callable[..., object])


@dataclass(frozen=True)
class OptionInfo:
    """One option the user can name in a study file, as ``ablate models`` lists it."""

    kind: str
    name: str
    description: str
    parameters: tuple[str, ...] = ()


def close_matches(value: str, choices: Sequence[str], *, n: int = 3) -> str:
    """ "; did you mean 'a' or 'b'?" or '' — appended to messages about unknown names."""
    close = difflib.get_close_matches(value, list(choices), n=n, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(f"'{name}'" for name in close) + "?"


class Registry(Generic[F]):
    """Factories of one kind (visit branch, fusion, loss term), in registration order."""

    def __init__(self, kind: str, where: str) -> None:
        self.kind = kind
        self.where = where
        self._factories: dict[str, F] = {}
        self._infos: dict[str, OptionInfo] = {}

    def register(
        self, name: str, *, description: str, parameters: Sequence[str] = ()
    ) -> Callable[[F], F]:
        """Decorator: ``@REGISTRY.register("sum", description=..., parameters=(...))``."""

        def decorate(factory: F) -> F:
            if name in self._factories:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._factories[name] = factory
            self._infos[name] = OptionInfo(self.kind, name, description, tuple(parameters))
            return factory

        return decorate

    def get(self, name: str) -> F:
        """The factory registered as ``name``; an unknown name lists close matches."""
        try:
            return self._factories[name]
        except KeyError:
            names = self.names()
            hint = close_matches(name, names) or f"; choose one of: {', '.join(names)}."
            raise UsageError(
                f"Unknown {self.kind} '{name}' at {self.where}{hint} "
                "Run 'ablate models' to list them."
            ) from None

    def names(self) -> tuple[str, ...]:
        return tuple(self._factories)

    def infos(self) -> list[OptionInfo]:
        return list(self._infos.values())

    def __contains__(self, name: object) -> bool:
        return name in self._factories
