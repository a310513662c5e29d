"""Name → component registries, timm-style: one decorator per kind, typed options per entry.

A component (a fusion, an image or visit branch, a loss term) is a callable registered under a
name. Its keyword parameters are of two sorts:

- *context*: what ablate hands every component of the kind (``embed_dim``, the two branches
  for a fusion, the shared ``model.visit`` settings for a visit branch …). A component takes
  the ones it names, nothing else;
- *options*: every other keyword parameter is an option the study sets in the kind's options
  mapping (``model.fusion_options``, ``loss.terms.<name>``), validated by a pydantic model
  derived from the signature, or by the model given as ``options=`` (then the component
  receives the validated instance as ``options``).

The built-ins register through exactly these decorators, so the registry is the one source
of truth; nothing depends on the order in which modules register.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from ablate.errors import UsageError
from ablate.spec._names import suggest

F = TypeVar("F", bound=Callable[..., Any])


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


@dataclass(frozen=True)
class OptionField:
    """One option as ``ablate models`` lists it: its setting path, type and default."""

    setting: str
    type: str
    default: str  # repr of the default, or 'required'


@dataclass(frozen=True)
class OptionInfo:
    """One component the user can name in a study file, as ``ablate models`` lists it."""

    kind: str
    name: str
    description: str
    parameters: tuple[str, ...] = ()  # the shared settings it reads (model.visit.width …)
    options: tuple[OptionField, ...] = ()
    source: str = "built-in"  # or 'ideas/film.py:12' for a plugin


@dataclass(frozen=True)
class Component(Generic[F]):
    """A registered component: its factory, its typed options and what context it takes."""

    info: OptionInfo
    factory: F
    options_model: type[BaseModel]
    takes_model: bool  # registered with options=Model: receives ``options=<instance>``
    context: frozenset[str]  # the context names the factory takes
    options_at: str  # where a study sets its options: 'model.fusion_options'

    @property
    def option_names(self) -> tuple[str, ...]:
        return tuple(self.options_model.model_fields)

    def validate(self, values: Mapping[str, Any]) -> BaseModel:
        """The options, typed (raises pydantic's ValidationError)."""
        return self.options_model.model_validate(dict(values))

    def call(self, context: Mapping[str, Any], options: BaseModel, *args: Any) -> Any:
        """Call the factory with the context it takes and its validated options."""
        kwargs = {k: v for k, v in context.items() if k in self.context}
        if self.takes_model:
            return self.factory(*args, options=options, **kwargs)
        return self.factory(*args, **kwargs, **{k: getattr(options, k) for k in self.option_names})


def _source(factory: Callable[..., Any]) -> str:
    """'film.py:12', where the factory is defined (for 'registered twice' and listings)."""
    target = inspect.unwrap(factory)
    code = getattr(target, "__code__", None) or getattr(
        getattr(target, "__init__", None), "__code__", None
    )
    if code is None:
        return getattr(target, "__module__", "?")
    return f"{code.co_filename}:{code.co_firstlineno}"


def _signature_options(
    factory: Callable[..., Any], context: frozenset[str], positional: int, where: str
) -> tuple[type[BaseModel], frozenset[str]]:
    """The options model of a factory's keyword parameters that are not context."""
    fields: dict[str, Any] = {}
    taken: set[str] = set()
    try:  # 'from __future__ import annotations' leaves annotations as text
        signature = inspect.signature(factory, eval_str=True)
    except (NameError, TypeError, SyntaxError):
        signature = inspect.signature(factory)
    params = list(signature.parameters.values())[positional:]
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.name in context:
            taken.add(param.name)
            continue
        annotation = Any if param.annotation is param.empty else param.annotation
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (annotation, default)
    model = create_model(f"{where}Options", __base__=_Options, **fields)  # type: ignore[call-overload]
    return model, frozenset(taken)


class Registry(Generic[F]):
    """Components of one kind, in registration order.

    ``context`` names what every component of the kind may take; ``positional`` is how many
    leading positional arguments a call passes (a loss term's output and targets).
    """

    def __init__(
        self,
        kind: str,
        where: str,
        *,
        options_at: str,
        context: frozenset[str],
        positional: int = 0,
        fixed_defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self.kind, self.where, self.options_at = kind, where, options_at
        self.context, self.positional = context, positional
        self.fixed_defaults = dict(fixed_defaults or {})
        self._components: dict[str, Component[F]] = {}

    def register(
        self,
        name: str,
        *,
        description: str,
        options: type[BaseModel] | None = None,
        parameters: tuple[str, ...] = (),
    ) -> Callable[[F], F]:
        """Decorator: ``@register_fusion("film", description=...)``; see the module docstring."""

        def decorate(factory: F) -> F:
            self.add(name, factory, description=description, options=options,
                     parameters=parameters)  # fmt: skip
            return factory

        return decorate

    def add(
        self,
        name: str,
        factory: F,
        *,
        description: str,
        options: type[BaseModel] | None = None,
        parameters: tuple[str, ...] = (),
    ) -> Component[F]:
        if not isinstance(name, str) or not name.replace("_", "a").isalnum():
            raise UsageError(
                f"{self.kind} name {name!r} must be letters, digits and '_' (it is typed in "
                "study files); rename it."
            )
        if name in self._components:
            first = self._components[name].info.source
            raise UsageError(
                f"{self.kind} '{name}' is registered twice (first at {first}); rename one of them."
            )
        source = _source(factory)
        if options is None:
            model, taken = _signature_options(factory, self.context, self.positional, name)
        else:
            taken = frozenset(inspect.signature(factory).parameters) & self.context
            model = options
        self._check_defaults(name, model)
        options_at = self.options_at.format(name=name)
        fields = tuple(
            OptionField(
                f"{options_at}.{key}",
                _type_text(field.annotation),
                "required" if field.is_required() else repr(field.get_default()),
            )
            for key, field in model.model_fields.items()
        )
        builtin = Path(source.rsplit(":", 1)[0]).parent == Path(__file__).parent
        info = OptionInfo(self.kind, name, description, tuple(parameters), fields,
                          "built-in" if builtin else source)  # fmt: skip
        component = Component(info, factory, model, options is not None, taken, options_at)
        self._components[name] = component
        return component

    def _check_defaults(self, name: str, model: type[BaseModel]) -> None:
        """An option named like one whose default is fixed (see LEGACY_FUSION_DEFAULTS) must
        keep that default: run keys leave it out when a study writes it."""
        for key, field in model.model_fields.items():
            if key in self.fixed_defaults and (
                field.is_required() or field.get_default() != self.fixed_defaults[key]
            ):
                raise UsageError(
                    f"{self.kind} '{name}': option '{key}' must default to "
                    f"{self.fixed_defaults[key]!r} ({self.options_at}.{key} has always had that "
                    "default); give it that default or another name."
                )

    def component(self, name: str) -> Component[F]:
        """The component registered as ``name``; an unknown name lists close matches."""
        try:
            return self._components[name]
        except KeyError:
            head, tail = unknown_name(self, name, n=3, always_list=True)
            raise UsageError(f"{head} at {self.where}{tail}") from None

    def get(self, name: str) -> F:
        return self.component(name).factory

    def names(self) -> tuple[str, ...]:
        return tuple(self._components)

    def infos(self) -> list[OptionInfo]:
        return [c.info for c in self._components.values()]

    def snapshot(self) -> dict[str, Component[F]]:
        return dict(self._components)

    def restore(self, snapshot: dict[str, Component[F]]) -> None:
        """Forget what a plugin that failed half-way registered (its import is retried)."""
        self._components = dict(snapshot)

    def __contains__(self, name: object) -> bool:
        return name in self._components


def unknown_name(
    registry: Registry[Any], name: object, *, n: int = 1, always_list: bool = False
) -> tuple[str, str]:
    """("Unknown fusion 'concta'", "; did you mean 'concat'? Run 'ablate models' to list
    them."): the head and tail around the location, worded as the spec's name errors were
    (a study file's message points at 'ablate models' only with a suggestion)."""
    names = registry.names()
    hint = suggest(str(name), names, n=n)
    run = " Run 'ablate models' to list them."
    if hint:
        return f"Unknown {registry.kind} '{name}'", hint + run
    listed = f"; choose one of: {', '.join(names)}."
    return f"Unknown {registry.kind} '{name}'", listed + (run if always_list else "")


def _type_text(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


__all__ = ["Component", "OptionField", "OptionInfo", "Registry", "ValidationError"]
