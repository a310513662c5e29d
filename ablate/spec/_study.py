"""The whole study file: fixed settings, the ablation grid, the search space."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictInt, field_validator, model_validator

from ablate.spec._adaptive import AdaptiveSeedsSpec
from ablate.spec._base import Frozen
from ablate.spec._catalog import OBJECTIVE_METRICS
from ablate.spec._data import DataSpec
from ablate.spec._model import LossSpec, ModelSpec
from ablate.spec._names import check_name
from ablate.spec._search import (
    NoPruningOptions,
    PrunerSpec,
    SamplerSpec,
    TPEOptions,
    error_at,
)
from ablate.spec._train import TrainSpec

Scalar = bool | int | float | str | None
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
OVERRIDABLE_SECTIONS = ("data", "model", "loss", "train")
SEED_LIMIT = 2**32  # numpy's legacy seeding, which training uses, takes 0 <= seed < 2**32


def _seed_in_range(value: int) -> int:
    if not 0 <= value < SEED_LIMIT:
        raise ValueError(
            f"a seed must be an integer from 0 to {SEED_LIMIT - 1:,} (numpy's limit); "
            "pick one in that range"
        )
    return value


# Strict: YAML 'true' or '3' is not a seed, and would otherwise be coerced to 1 or 3.
Seed = Annotated[StrictInt, AfterValidator(_seed_in_range)]


class ParamSpec(Frozen):
    """One searched parameter: a float/int range or a list of choices."""

    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = Field(None, gt=0.0)
    integer: bool = False
    choices: list[Scalar] | None = None

    @model_validator(mode="after")
    def _range_or_choices(self) -> ParamSpec:
        if self.choices is not None:
            if self.low is not None or self.high is not None:
                raise ValueError("give either 'choices' or 'low'/'high', not both")
            if not self.choices:
                raise ValueError("'choices' is empty; list at least one value")
            return self
        if self.low is None or self.high is None:
            raise ValueError("a searched parameter needs 'low' and 'high' (or 'choices')")
        if self.low > self.high:
            raise ValueError(f"'low' ({self.low}) is above 'high' ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("'log: true' needs 'low' > 0")
        return self


class ConfirmSpec(Frozen):
    """After the search: its best configurations (by the validation objective) and the
    baseline trained again at every seed of the study, for the paired tests."""

    top_k: int = Field(
        ge=1,
        le=1000,
        description="how many of the best search trials, by the validation objective, are "
        "trained again at every seed",
    )


class SearchSpec(Frozen):
    """A searched study: the space, its sampler and its pruner (tables in spec._search)."""

    n_trials: int = Field(20, ge=1, le=100_000)
    sampler: SamplerSpec = TPEOptions()
    params: dict[str, ParamSpec]
    pruner: PrunerSpec = NoPruningOptions()
    confirm: ConfirmSpec | None = None

    @model_validator(mode="after")
    def _sampler_fits_space(self) -> SearchSpec:
        problem = self.sampler.space_problem(self.params)
        if problem is not None:
            path, message = problem
            param = self.params[path].model_dump()
            raise error_at(("params", path), "sampler_space", message, param)
        return self

    @model_validator(mode="after")
    def _top_k_within_trials(self) -> SearchSpec:
        if self.confirm is not None and self.confirm.top_k > self.n_trials:
            raise error_at(
                ("confirm", "top_k"),
                "confirm_top_k",
                f"top_k ({self.confirm.top_k}) is above search.n_trials ({self.n_trials}): "
                "a search cannot confirm more configurations than it tries; lower top_k or "
                "raise n_trials",
                self.confirm.top_k,
            )
        return self


class ObjectiveSpec(Frozen):
    metric: str = "val_accuracy"
    direction: Literal["maximize", "minimize"] = "maximize"

    @field_validator("metric")
    @classmethod
    def _known(cls, value: str) -> str:
        return check_name(value, OBJECTIVE_METRICS, "objective metric")


class Reference(Frozen):
    """A published number shown apart from measured rows, e.g. Cao et al. 2020."""

    label: str
    test_accuracy: float | None = None
    test_kappa: float | None = None
    test_macro_f1: float | None = None


class ResourceSpec(Frozen):
    """How runs are executed and kept; none of it changes what a run computes."""

    max_retries: int = Field(2, ge=0, le=100)
    gpu_memory_gb: float | None = Field(
        None,
        gt=0.0,
        description="the most GPU memory one trial may take (its rows resident, model, "
        "activations); a trial whose rows do not fit beside its model streams them",
    )
    host_memory_gb: float | None = Field(
        None,
        gt=0.0,
        description="the most host memory one trial on a CPU slot may hold resident; "
        "with data_placement 'resident', rows over it are streamed instead",
    )
    data_placement: Literal["auto", "resident", "stream"] = Field(
        "auto",
        description="how a trial holds its rows: 'resident' (copied onto its device once), "
        "'stream' (each batch read from the memory-mapped cache, prefetched) or 'auto' "
        "(stream on CPU slots, resident on a GPU where it fits); the batches are the same",
    )
    keep_best_weights: bool = Field(
        True,
        description="save the model at its best-validation epoch next to the checkpoint "
        "(what 'ablate gc' keeps)",
    )
    notify: str | None = Field(
        None,
        min_length=1,
        description="a shell command run when the study finishes, fails or stalls, with a "
        "short summary on its standard input (e.g. 'mail -s ablate me@lab'); "
        "'ablate run --notify' wins",
    )


class StudySpec(Frozen):
    name: str
    description: str = ""
    data: DataSpec = DataSpec()
    model: ModelSpec = ModelSpec()
    loss: LossSpec = LossSpec()
    train: TrainSpec = TrainSpec()
    grid: dict[str, list[Scalar]] = Field(default_factory=dict)
    seeds: list[Seed] = Field(default_factory=lambda: [0])
    baseline: dict[str, Scalar] | None = None
    adaptive_seeds: AdaptiveSeedsSpec | None = Field(
        None,
        description="add seeds to comparisons with the baseline that the declared seeds leave "
        "undecided, up to max_seeds (a group-sequential design on the validation objective)",
    )
    references: list[Reference] = Field(default_factory=list)
    search: SearchSpec | None = None
    objective: ObjectiveSpec = ObjectiveSpec()
    resources: ResourceSpec = ResourceSpec()
    plugins: list[str] = Field(
        default_factory=list,
        description="your own components: .py files relative to the study file, or modules",
    )
    task: str | None = Field(
        None, description="your own task instead of URFC: tasks/digits.py:Digits or module:Name"
    )
    # Filled in by ablate when it reads the study file (never written by hand): the
    # fingerprint of every plugin and task, part of each run's identity.
    code: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(
                f"study name '{value}' must be 1-64 letters, digits, '_', '-' or '.', "
                "starting with a letter or digit"
            )
        return value

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("list at least one seed, e.g. seeds: [0, 1, 2]")
        if len(set(value)) != len(value):
            raise ValueError(f"seeds {value} repeat a value; each seed must appear once")
        return value

    @property
    def kind(self) -> Literal["grid", "search"]:
        return "search" if self.search is not None else "grid"
