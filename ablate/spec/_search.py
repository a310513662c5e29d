"""The samplers and pruners a search can name: one table each, with every kind's typed options.

``SAMPLER_KINDS`` and ``PRUNER_KINDS`` map the name a study file writes (``search.sampler``,
``search.pruner.kind``) to a ``SearchKind``: its one-line description and its options model.
They are the one source of truth: the study file validates against a union built from them,
``ablate models`` lists them, and the scheduler maps the same names to Optuna objects
(``ablate.scheduler._samplers`` / ``_pruners``; a test holds the keys equal). Adding a kind is
one options model here, listed in its table, and one builder there.

No optuna here: ``ablate.spec`` is imported by commands that must start without it.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, ValidationError
from pydantic_core import PydanticCustomError

from ablate.spec._base import Frozen
from ablate.spec._names import check_name

if TYPE_CHECKING:
    from ablate.spec._study import ParamSpec


class KindOptions(Frozen):
    """The settings of one sampler or pruner kind; ``kind`` is its name in its table."""

    kind: str
    description: ClassVar[str] = ""  # one line, for 'ablate models'
    reads: ClassVar[tuple[str, ...]] = ()  # other study settings the kind's builder reads


# --- samplers ----------------------------------------------------------------------------
# No seed option: a runner re-creates its sampler at every start, and two machines run one
# search together, so a fixed seed would draw the same first configurations again each time.


class SamplerOptions(KindOptions):
    def space_problem(self, params: Mapping[str, ParamSpec]) -> tuple[str, str] | None:
        """(searched path, what is wrong) if this sampler cannot search ``params``."""
        return None


class TPEOptions(SamplerOptions):
    description: ClassVar[str] = "Optuna's tree-structured Parzen estimator (the default)"
    kind: Literal["tpe"] = "tpe"
    startup_trials: int = Field(10, ge=0, description="random trials before TPE takes over")


class RandomOptions(SamplerOptions):
    description: ClassVar[str] = "independent random draws from the search space"
    kind: Literal["random"] = "random"


class GridOptions(SamplerOptions):
    description: ClassVar[str] = (
        "every combination of the searched values; each parameter needs 'step' or 'choices'"
    )
    kind: Literal["grid"] = "grid"

    def space_problem(self, params: Mapping[str, ParamSpec]) -> tuple[str, str] | None:
        for path, param in params.items():
            if param.choices is None and param.step is None:
                return path, (
                    f"the grid sampler needs 'step' or 'choices' for every searched parameter; "
                    f"give '{path}' a step (e.g. step: 0.1) or list its choices"
                )
        return None


class GPOptions(SamplerOptions):
    description: ClassVar[str] = "Gaussian-process Bayesian optimisation (Optuna's GPSampler)"
    kind: Literal["gp"] = "gp"
    startup_trials: int = Field(10, ge=0, description="random trials before the GP takes over")


# --- pruners -----------------------------------------------------------------------------
# Steps are epochs, counted from 1: a trial reports its validation objective after each one.


class PrunerOptions(KindOptions):
    pass


class _AgainstEarlierTrials(PrunerOptions):
    startup_trials: int = Field(5, ge=0, description="trials that finish before any is pruned")
    warmup_epochs: int = Field(5, ge=0, description="epochs a trial runs before it can be pruned")


class NoPruningOptions(PrunerOptions):
    description: ClassVar[str] = "never stop a trial early (grid studies always use this)"
    kind: Literal["none"] = "none"


class MedianOptions(_AgainstEarlierTrials):
    description: ClassVar[str] = (
        "stop a trial below the median of earlier trials at the same epoch"
    )
    kind: Literal["median"] = "median"


class PercentileOptions(_AgainstEarlierTrials):
    description: ClassVar[str] = (
        "stop a trial below a percentile of earlier trials at the same epoch"
    )
    kind: Literal["percentile"] = "percentile"
    percentile: float = Field(25.0, gt=0.0, lt=100.0, description="keep trials above this")


class _Halving(PrunerOptions):
    min_resource: int = Field(1, ge=1, description="epochs every trial gets")
    reduction_factor: int = Field(3, ge=2, description="1/this of the trials go on per rung")


class SuccessiveHalvingOptions(_Halving):
    description: ClassVar[str] = "asynchronous successive halving over epochs"
    kind: Literal["successive_halving"] = "successive_halving"


class HyperbandOptions(_Halving):
    description: ClassVar[str] = (
        "Hyperband over epochs, up to the largest train.epochs a trial can have"
    )
    kind: Literal["hyperband"] = "hyperband"
    reads: ClassVar[tuple[str, ...]] = ("train.epochs",)


class PatientOptions(_AgainstEarlierTrials):
    description: ClassVar[str] = (
        "median pruning that waits for 'patience' epochs without improvement"
    )
    kind: Literal["patient"] = "patient"
    patience: int = Field(3, ge=1, description="epochs without improvement before pruning")


# --- the tables --------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchKind:
    """One entry of a table: what ``ablate models`` shows and what a study file validates."""

    name: str
    description: str
    options: type[KindOptions]

    def settings(self, section: str) -> tuple[str, ...]:
        """The dotted settings this kind reads, e.g. 'search.pruner.warmup_epochs'."""
        own = [f"{section}.{field}" for field in self.options.model_fields if field != "kind"]
        return (*own, *self.options.reads)


def _table(*kinds: type[KindOptions]) -> dict[str, SearchKind]:
    table = {}
    for options in kinds:
        name = options.model_fields["kind"].default
        if not isinstance(name, str) or not options.description:
            raise TypeError(f"{options.__name__} needs a default 'kind' and a description")
        table[name] = SearchKind(name, options.description, options)
    return table


SAMPLER_KINDS: dict[str, SearchKind] = _table(TPEOptions, RandomOptions, GridOptions, GPOptions)
PRUNER_KINDS: dict[str, SearchKind] = _table(
    NoPruningOptions,
    MedianOptions,
    PercentileOptions,
    SuccessiveHalvingOptions,
    HyperbandOptions,
    PatientOptions,
)

# The one flat pruner model of ablate before per-kind options: a study it stored (spec_json)
# holds all of these, whatever the kind; read back, it keeps only its kind's own options.
_FLAT_PRUNER_FIELDS = frozenset(
    {"kind", "warmup_epochs", "startup_trials", "percentile", "patience", "min_resource",
     "reduction_factor"}
)  # fmt: skip


def error_at(loc: tuple[str | int, ...], kind: str, message: str, value: Any) -> ValidationError:
    """A validation error placed at ``loc`` below the model being validated (pydantic prefixes
    the enclosing path), so that the loader reports the line of that key."""
    return ValidationError.from_exception_data(
        "study", [{"type": PydanticCustomError(kind, message), "loc": loc, "input": value}]
    )


def _named_kind(table: dict[str, SearchKind], what: str, default: str) -> Callable[[Any], Any]:
    """'tpe' → {kind: tpe}; a mapping without 'kind' → the default kind; an unknown name →
    "Unknown pruner 'medain' …; did you mean 'median'?" at the 'kind' key."""

    def check(value: Any) -> Any:
        named = isinstance(value, str)
        if named:
            value = {"kind": value}
        if not isinstance(value, dict):
            return value  # an options object, or a wrong type the union reports
        kind = value.get("kind", default)
        try:
            check_name(kind, tuple(table), what)
        except PydanticCustomError as exc:
            raise ValidationError.from_exception_data(
                "study", [{"type": exc, "loc": () if named else ("kind",), "input": kind}]
            ) from None
        if what == "pruner" and set(value) == _FLAT_PRUNER_FIELDS:
            value = {k: v for k, v in value.items() if k in table[kind].options.model_fields}
        return {**value, "kind": kind}

    return check


def _union(table: dict[str, SearchKind], what: str, default: str) -> Any:
    members = functools.reduce(operator.or_, [kind.options for kind in table.values()])
    return Annotated[
        members, Field(discriminator="kind"), BeforeValidator(_named_kind(table, what, default))
    ]


# Written as `sampler: tpe` or `sampler: {kind: tpe, startup_trials: 5}`; a pruner as
# `pruner: {kind: median, warmup_epochs: 5}` (no kind: median, as before per-kind options).
SamplerSpec = _union(SAMPLER_KINDS, "sampler", "tpe")
PrunerSpec = _union(PRUNER_KINDS, "pruner", "median")
