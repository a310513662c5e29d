"""Name → factory registries, timm-style: a decorator to register, a lookup with close matches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ablate.errors import UsageError
from ablate.spec._names import suggest

F = TypeVar("F", bound=Callable[..., object])


@dataclass(frozen=True)
class OptionInfo:
    """One option the user can name in a study file, as ``ablate models`` lists it."""

    kind: str
    name: str
    description: str
    parameters: tuple[str, ...] = ()


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
            hint = suggest(name, names, n=3) or f"; choose one of: {', '.join(names)}."
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
