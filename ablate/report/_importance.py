"""Parameter importances of a search study (Optuna's fANOVA), imported lazily."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, inspect

from ablate.report._collect import StudyData, load_study_data, short_names
from ablate.report._model import Cell, Column, Section, Table
from ablate.spec import ParamSpec


def _distribution(spec: ParamSpec) -> Any:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if spec.choices is not None:
        return CategoricalDistribution(spec.choices)
    if spec.integer:
        step = int(spec.step or 1)
        return IntDistribution(int(spec.low), int(spec.high), log=spec.log, step=step)
    return FloatDistribution(spec.low, spec.high, log=spec.log, step=spec.step)


def _stored_study(engine: Engine, name: str) -> Any | None:
    """The Optuna study of the same name in the same database, without creating any table."""
    import optuna

    if not inspect(engine).has_table("studies"):
        return None
    url = engine.url.render_as_string(hide_password=False)
    storage = optuna.storages.RDBStorage(url, skip_table_creation=True)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return None


def _rebuilt_study(data: StudyData) -> Any:
    """An in-memory Optuna study from ablate's own rows (a database without Optuna's tables)."""
    import optuna

    assert data.spec.search is not None  # callers check; not user input
    distributions = {p: _distribution(s) for p, s in data.spec.search.params.items()}
    study = optuna.create_study(direction=data.spec.objective.direction)
    for run in data.runs:
        trial = run.final
        if run.state != "complete" or trial.objective is None:
            continue
        params = {p: trial.params[p] for p in distributions if p in trial.params}
        if len(params) == len(distributions):
            study.add_trial(
                optuna.trial.create_trial(
                    params=params,
                    distributions={p: distributions[p] for p in params},
                    value=trial.objective,
                )
            )
    return study


def param_importances(engine: Engine, study: str) -> dict[str, float]:
    """Importance of each searched parameter (sums to 1), most important first.

    Empty when it cannot be estimated: not a search study, fewer than 2 complete trials, or
    every complete trial reached the same objective (nothing to explain).
    """
    data = load_study_data(engine, study)
    if data.spec.search is None or not data.spec.search.params:
        return {}
    complete = [r for r in data.runs if r.state == "complete" and r.final.objective is not None]
    if len(complete) < 2 or len({r.final.objective for r in complete}) < 2:
        return {}
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    stored = _stored_study(engine, study)
    source = stored if stored is not None else _rebuilt_study(data)
    names = _sampled_names(source)
    if not names:
        return {}
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    values = optuna.importance.get_param_importances(source, evaluator=evaluator, params=names)
    return {name: float(v) for name, v in values.items()}


def _sampled_names(source: Any) -> list[str]:
    """The parameters every complete sampled trial has. A search's confirmation runs are
    Optuna trials without parameters (user attributes only), which Optuna's own default, the
    intersection over all trials, would reduce to nothing."""
    from optuna.trial import TrialState

    complete = source.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    sets = [set(trial.params) for trial in complete if trial.params]
    return sorted(set.intersection(*sets)) if sets else []


def importance_table(engine: Engine, study: str) -> Table:
    values = param_importances(engine, study)
    names = short_names(tuple(values))
    rows = tuple((Cell(names[p], (p,)), Cell(f"{v:.3f}", (v,))) for p, v in values.items())
    return Table(
        title=f"{study}: parameter importances (fANOVA, objective)",
        columns=(
            Column("param", "Parameter", ("param",), numeric=False),
            Column("importance", "Importance", ("importance",)),
        ),
        sections=(Section(rows),),
        legend=("Share of the objective's variance explained by each parameter (sums to 1).",),
        footnotes=()
        if rows
        else (
            "Needs at least 2 complete trials of a search study with different objective values.",
        ),
    )
