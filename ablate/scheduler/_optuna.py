"""Optuna as the scheduler's sampler and pruner, under ask/tell.

Grid runs are created as RUNNING trials with exactly their parameters (no queue to race on);
searched runs come from ``study.ask()``. Optuna's trials live in the same database as ours.
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

from ablate.spec import ParamSpec, PrunerSpec, StudySpec

optuna.logging.set_verbosity(logging.WARNING)


def make_sampler(spec: StudySpec, *, seed: int | None = None) -> optuna.samplers.BaseSampler:
    kind = spec.search.sampler if spec.search else "random"
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if kind == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if kind == "grid" and spec.search:
        space = {path: _grid_values(p) for path, p in spec.search.params.items()}
        space.update({path: list(values) for path, values in spec.grid.items()})
        return optuna.samplers.GridSampler(space, seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)


def _grid_values(param: ParamSpec) -> list[Any]:
    if param.choices is not None:
        return list(param.choices)
    if param.step is None:
        raise ValueError("a grid sampler needs 'step' (or 'choices') for every searched parameter")
    count = round((param.high - param.low) / param.step) + 1  # type: ignore[operator]
    values = [param.low + i * param.step for i in range(count)]  # type: ignore[operator]
    return [int(v) if param.integer else round(v, 12) for v in values]


def make_pruner(spec: StudySpec) -> optuna.pruners.BasePruner:
    pruner: PrunerSpec = spec.search.pruner if spec.search else PrunerSpec(kind="none")
    if pruner.kind == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=pruner.startup_trials, n_warmup_steps=pruner.warmup_epochs
        )
    if pruner.kind == "percentile":
        return optuna.pruners.PercentilePruner(
            pruner.percentile,
            n_startup_trials=pruner.startup_trials,
            n_warmup_steps=pruner.warmup_epochs,
        )
    if pruner.kind == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=pruner.min_resource, reduction_factor=pruner.reduction_factor
        )
    if pruner.kind == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=pruner.min_resource,
            max_resource=spec.train.epochs,
            reduction_factor=pruner.reduction_factor,
        )
    if pruner.kind == "patient":
        return optuna.pruners.PatientPruner(
            optuna.pruners.MedianPruner(
                n_startup_trials=pruner.startup_trials, n_warmup_steps=pruner.warmup_epochs
            ),
            patience=pruner.patience,
        )
    return optuna.pruners.NopPruner()


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
