"""Optuna as the scheduler's sampler and pruner, under ask/tell.

Grid runs are created as RUNNING trials with exactly their parameters (no queue to race on);
searched runs come from ``study.ask()``. Optuna's trials live in the same database as ours.
The sampler and pruner come from their tables (``_samplers``, ``_pruners``).
"""

from __future__ import annotations

import logging
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import Trial, TrialState, create_trial

from ablate.scheduler._pruners import make_pruner
from ablate.scheduler._samplers import make_sampler
from ablate.spec import ParamSpec, StudySpec

optuna.logging.set_verbosity(logging.WARNING)


def open_study(spec: StudySpec, storage: optuna.storages.BaseStorage) -> optuna.Study:
    return optuna.create_study(
        study_name=spec.name,
        storage=storage,
        sampler=make_sampler(spec),
        pruner=make_pruner(spec),
        direction=spec.objective.direction,
        load_if_exists=True,
    )


def grid_distributions(spec: StudySpec) -> dict[str, BaseDistribution]:
    dists: dict[str, BaseDistribution] = {
        path: CategoricalDistribution(values) for path, values in spec.grid.items()
    }
    dists["seed"] = CategoricalDistribution(
        list(spec.seeds) if not spec.search else [spec.seeds[0]]
    )
    return dists


def param_distribution(param: ParamSpec) -> BaseDistribution:
    if param.choices is not None:
        return CategoricalDistribution(param.choices)
    if param.integer:
        return IntDistribution(
            int(param.low),
            int(param.high),
            log=param.log,  # type: ignore[arg-type]
            step=int(param.step or 1),
        )
    return FloatDistribution(param.low, param.high, log=param.log, step=param.step)  # type: ignore[arg-type]


def fixed_trial(
    study: optuna.Study,
    params: dict[str, Any],
    distributions: dict[str, BaseDistribution],
    *,
    user_attrs: dict[str, Any] | None = None,
) -> Trial:
    """A RUNNING trial with exactly these parameters (a grid run, or a retry of a run)."""
    template = create_trial(
        state=TrialState.RUNNING,
        params=params,
        distributions=distributions,
        user_attrs=user_attrs or {},
    )
    study_id = study._storage.get_study_id_from_name(study.study_name)
    trial_id = study._storage.create_new_trial(study_id, template_trial=template)
    return Trial(study, trial_id)


def sample_trial(
    study: optuna.Study, spec: StudySpec
) -> tuple[Trial, dict[str, Any], dict[str, Any]]:
    """Ask the sampler for a new searched trial; returns it, its cell (+ 'seed') and params.

    A search study trains each sampled configuration at its first seed.
    """
    assert spec.search is not None
    trial = study.ask()
    cell = {path: trial.suggest_categorical(path, values) for path, values in spec.grid.items()}
    cell["seed"] = trial.suggest_categorical("seed", [spec.seeds[0]])
    params: dict[str, Any] = {}
    for path, p in spec.search.params.items():
        if p.choices is not None:
            params[path] = trial.suggest_categorical(path, p.choices)
        elif p.integer:
            params[path] = trial.suggest_int(
                path,
                int(p.low),
                int(p.high),
                step=int(p.step or 1),
                log=p.log,  # type: ignore[arg-type]
            )
        else:
            params[path] = trial.suggest_float(path, p.low, p.high, step=p.step, log=p.log)  # type: ignore[arg-type]
    return trial, cell, params


def all_distributions(spec: StudySpec) -> dict[str, BaseDistribution]:
    dists = grid_distributions(spec)
    if spec.search:
        dists.update({p: param_distribution(v) for p, v in spec.search.params.items()})
    return dists
