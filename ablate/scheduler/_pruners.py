"""Each pruner a study can name, built as its Optuna object from its typed options.

The names and options are the spec's table (``ablate.spec._search.PRUNER_KINDS``); this table
maps the same names to builders, and a contract test holds the two equal. A pruner's steps
are epochs, counted from 1.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import optuna

from ablate.errors import AblateError, SpecError
from ablate.spec import StudySpec
from ablate.spec._search import (
    HyperbandOptions,
    MedianOptions,
    NoPruningOptions,
    PatientOptions,
    PercentileOptions,
    SuccessiveHalvingOptions,
)

PrunerBuilder = Callable[[Any, StudySpec], optuna.pruners.BasePruner]
EPOCHS = "train.epochs"


def largest_epochs(spec: StudySpec) -> int:
    """The most epochs any trial of the study can train: ``train.epochs``, unless a grid
    factor or a searched parameter sets it, then the largest value that can take."""
    if EPOCHS in spec.grid:
        return max(int(v) for v in spec.grid[EPOCHS])  # type: ignore[arg-type]
    param = spec.search.params.get(EPOCHS) if spec.search else None
    if param is None:
        return spec.train.epochs
    if param.choices is not None:
        return max(int(v) for v in param.choices)  # type: ignore[arg-type]
    return int(param.high)  # type: ignore[arg-type]


def _none(options: NoPruningOptions, spec: StudySpec) -> optuna.pruners.BasePruner:
    return optuna.pruners.NopPruner()


def _median(options: MedianOptions, spec: StudySpec) -> optuna.pruners.BasePruner:
    return optuna.pruners.MedianPruner(
        n_startup_trials=options.startup_trials, n_warmup_steps=options.warmup_epochs
    )


def _percentile(options: PercentileOptions, spec: StudySpec) -> optuna.pruners.BasePruner:
    return optuna.pruners.PercentilePruner(
        options.percentile,
        n_startup_trials=options.startup_trials,
        n_warmup_steps=options.warmup_epochs,
    )


def _successive_halving(
    options: SuccessiveHalvingOptions, spec: StudySpec
) -> optuna.pruners.BasePruner:
    return optuna.pruners.SuccessiveHalvingPruner(
        min_resource=options.min_resource, reduction_factor=options.reduction_factor
    )


def _hyperband(options: HyperbandOptions, spec: StudySpec) -> optuna.pruners.BasePruner:
    """Hyperband's brackets span ``min_resource`` to the most epochs any trial can train.

    Not Optuna's ``max_resource="auto"``: that takes the last epoch of whichever trial
    completes first, so with ``train.epochs`` a grid factor or searched it depends on the
    order trials happen to finish in, and differs between restarts and machines of one search.
    The largest value is known from the study file before anything trains; a trial with fewer
    epochs simply completes before the higher rungs.
    """
    top = largest_epochs(spec)
    if options.min_resource > top:
        raise SpecError(
            f"search.pruner.min_resource ({options.min_resource}) is above the most epochs a "
            f"trial of study '{spec.name}' trains ({top}); lower it to at most {top}."
        )
    return optuna.pruners.HyperbandPruner(
        min_resource=options.min_resource,
        max_resource=top,
        reduction_factor=options.reduction_factor,
    )


def _patient(options: PatientOptions, spec: StudySpec) -> optuna.pruners.BasePruner:
    median = optuna.pruners.MedianPruner(
        n_startup_trials=options.startup_trials, n_warmup_steps=options.warmup_epochs
    )
    with warnings.catch_warnings():  # "experimental" since Optuna 2.8; not the user's concern
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.pruners.PatientPruner(median, patience=options.patience)


PRUNER_BUILDERS: dict[str, PrunerBuilder] = {
    "none": _none,
    "median": _median,
    "percentile": _percentile,
    "successive_halving": _successive_halving,
    "hyperband": _hyperband,
    "patient": _patient,
}


def make_pruner(spec: StudySpec) -> optuna.pruners.BasePruner:
    """The study's pruner; grid studies never prune (a pruned cell would vanish from tables)."""
    if spec.search is None:
        return optuna.pruners.NopPruner()
    kind = spec.search.pruner.kind
    if kind not in PRUNER_BUILDERS:
        raise AblateError(
            f"The spec accepts pruner '{kind}' but the scheduler cannot build it; add a "
            "builder for it to PRUNER_BUILDERS in ablate/scheduler/_pruners.py."
        )
    return PRUNER_BUILDERS[kind](spec.search.pruner, spec)
