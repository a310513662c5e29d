"""Each sampler a study can name, built as its Optuna object from its typed options.

The names and options are the spec's table (``ablate.spec._search.SAMPLER_KINDS``); this
table maps the same names to builders, and a contract test holds the two equal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna

from ablate.errors import AblateError
from ablate.spec import ParamSpec, StudySpec
from ablate.spec._search import GPOptions, GridOptions, RandomOptions, TPEOptions

SamplerBuilder = Callable[[Any, StudySpec], optuna.samplers.BaseSampler]


def _tpe(options: TPEOptions, spec: StudySpec) -> optuna.samplers.BaseSampler:
    return optuna.samplers.TPESampler(n_startup_trials=options.startup_trials)


def _random(options: RandomOptions, spec: StudySpec) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler()


def _grid(options: GridOptions, spec: StudySpec) -> optuna.samplers.BaseSampler:
    assert spec.search is not None
    space = {path: grid_values(param) for path, param in spec.search.params.items()}
    space.update({path: list(values) for path, values in spec.grid.items()})
    return optuna.samplers.GridSampler(space)


def _gp(options: GPOptions, spec: StudySpec) -> optuna.samplers.BaseSampler:
    return optuna.samplers.GPSampler(n_startup_trials=options.startup_trials)


SAMPLER_BUILDERS: dict[str, SamplerBuilder] = {
    "tpe": _tpe,
    "random": _random,
    "grid": _grid,
    "gp": _gp,
}


def grid_values(param: ParamSpec) -> list[Any]:
    """The values a grid sampler visits (the spec has checked each has step or choices)."""
    if param.choices is not None:
        return list(param.choices)
    low, high, step = float(param.low), float(param.high), float(param.step)  # type: ignore[arg-type]
    count = round((high - low) / step) + 1
    values = [low + i * step for i in range(count)]
    return [int(v) if param.integer else round(v, 12) for v in values]


def make_sampler(spec: StudySpec) -> optuna.samplers.BaseSampler:
    """The study's sampler; a grid study never asks for one (its runs are fixed trials)."""
    if spec.search is None:
        return optuna.samplers.RandomSampler()
    kind = spec.search.sampler.kind
    if kind not in SAMPLER_BUILDERS:
        raise AblateError(
            f"The spec accepts sampler '{kind}' but the scheduler cannot build it; add a "
            "builder for it to SAMPLER_BUILDERS in ablate/scheduler/_samplers.py."
        )
    return SAMPLER_BUILDERS[kind](spec.search.sampler, spec)
