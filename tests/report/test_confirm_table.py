"""The confirmation table of a search, from a database built by hand: the chosen
configurations and the baseline over 5 seeds, Δ and the paired tests, never the search
trials' own numbers; the plain search table while the search is not finished."""

from __future__ import annotations

from pathlib import Path

import pytest
from scipy import stats
from sqlalchemy import Engine
from typer.testing import CliRunner

from ablate.cli import app
from ablate.db import make_engine
from ablate.report import FORMATS, confirm_table, render, search_table
from ablate.spec import StudySpec

A, B = "loss.deep_supervision", "loss.distillation"
SEARCHED = [  # (a, b, validation objective, test accuracy of the search trial itself)
    (0.8, 0.1, 0.70, 0.99),  # trial 0: ties with trial 3, wins on the lower number
    (0.5, 0.5, 0.72, 0.98),  # trial 1: the best
    (0.2, 0.9, 0.65, 0.50),
    (0.6, 0.3, 0.70, 0.97),
]
CONFIRMED = {  # test accuracy of the confirmation runs at seeds 0..4
    (0.5, 0.5): [0.700, 0.705, 0.702, 0.699, 0.706],
    (0.8, 0.1): [0.690, 0.681, 0.692, 0.679, 0.689],
    (0.0, 0.0): [0.680, 0.684, 0.682, 0.679, 0.683],  # the baseline
}


def _spec() -> StudySpec:
    return StudySpec(
        name="loss_weights",
        seeds=[0, 1, 2, 3, 4],
        baseline={A: 0.0, B: 0.0},
        search={
            "n_trials": 4,
            "params": {A: {"low": 0.0, "high": 1.0}, B: {"low": 0.0, "high": 1.0}},
            "confirm": {"top_k": 2},
        },
    )


def _trials(fakes, *, searched=SEARCHED, skip: tuple = ()) -> list:
    trials = [
        fakes.FakeTrial({}, 0, params={A: a, B: b}, objective=value, accuracy=test)
        for a, b, value, test in searched
    ]
    for (a, b), accs in CONFIRMED.items():
        for seed, acc in enumerate(accs):
            if ((a, b), seed) not in skip:
                trials.append(
                    fakes.FakeTrial(
                        {}, seed, params={A: a, B: b}, accuracy=acc, kappa=acc - 0.1,
                        phase="confirm",
                    )
                )  # fmt: skip
    return trials


@pytest.fixture
def confirmed(tmp_path: Path, fakes) -> Engine:
    not_chosen = fakes.FakeTrial({}, 0, params={A: 0.6, B: 0.3}, accuracy=0.9, phase="confirm")
    url = fakes.build_db(tmp_path / "c.sqlite", _spec(), [*_trials(fakes), not_chosen])
    return make_engine(url, create=False)


def test_the_chosen_configurations_and_the_baseline_with_paired_tests(confirmed) -> None:
    table = confirm_table(confirmed, "loss_weights", metrics=("accuracy",))
    assert table is not None
    texts = table.texts()
    assert texts[0][:5] == ["deep_supervision", "distillation", "n", "Accuracy (%)",
                            "Δ Accuracy (pp)"]  # fmt: skip
    assert [row[:3] for row in texts[1:]] == [["0.5", "0.5", "5"], ["0.8", "0.1", "5"],
                                             ["0", "0", "5"]]  # fmt: skip
    best, base = CONFIRMED[(0.5, 0.5)], CONFIRMED[(0.0, 0.0)]
    mean = 100 * sum(best) / 5  # the confirmation runs only: not the search trial's 0.98
    assert texts[1][3].startswith(f"{mean:.2f} ± ")
    delta = 100 * (sum(best) - sum(base)) / 5
    assert texts[1][4] == f"+{delta:.2f}†"
    p_best = stats.ttest_rel(best, base).pvalue
    p_second = stats.ttest_rel(CONFIRMED[(0.8, 0.1)], base).pvalue
    rows = table.sections[0].rows
    assert rows[0][5].numbers[0] == pytest.approx(p_best)  # p (t-test), then Wilcoxon, Holm
    assert rows[1][5].numbers[0] == pytest.approx(p_second)
    assert texts[1][5] == "<0.001 / 0.062" and texts[2][4] == f"+{100 * 0.0046:.2f}"
    assert texts[3][4] == "baseline"
    notes = " ".join(table.notes)
    assert (
        "Confirmed: the top 2 of the search's 4 trials by val_accuracy (maximize) on the "
        "validation split at seed 0: trial 1 (deep_supervision=0.5, distillation=0.5; "
        "val_accuracy 72.00 %), trial 0 (deep_supervision=0.8, distillation=0.1; val_accuracy "
        "70.00 %)."
    ) in notes
    assert "1 confirmation run of configurations no longer chosen" in notes


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_the_confirmation(confirmed, fmt: str) -> None:
    table = confirm_table(confirmed, "loss_weights")
    assert table is not None
    text = render(table, fmt) if fmt != "rich" else render(table, "markdown")
    assert "0.5" in text
    if fmt == "csv":  # numbers only: the Δ of the baseline row is 0
        assert text.splitlines()[0].startswith("section,loss.deep_supervision,loss.distillation")
    else:
        assert "baseline" in text and "Confirmed: the top 2" in text


def test_a_missing_confirmation_run_is_accounted_for(tmp_path: Path, fakes) -> None:
    trials = _trials(fakes, skip=(((0.0, 0.0), 4),))
    engine = make_engine(fakes.build_db(tmp_path / "m.sqlite", _spec(), trials), create=False)
    table = confirm_table(engine, "loss_weights", metrics=("accuracy",))
    assert table is not None and table.texts()[3][2] == "4"
    assert "Not started (1 run): deep_supervision=0, distillation=0 seed 4." in table.footnotes


def test_an_unfinished_search_shows_its_trials_and_says_what_comes(tmp_path: Path, fakes) -> None:
    url = fakes.build_db(tmp_path / "u.sqlite", _spec(), _trials(fakes, searched=SEARCHED[:3]))
    engine = make_engine(url, create=False)
    assert confirm_table(engine, "loss_weights") is None
    notes = " ".join(search_table(engine, "loss_weights").notes)
    assert "Confirmation: when the search's 4 trials have finished (3 so far), its top 2" in notes
    assert len(search_table(engine, "loss_weights").texts()) == 1 + 3  # confirmation runs apart


def test_the_table_command_shows_the_confirmation_first(confirmed, tmp_path: Path) -> None:
    url = confirmed.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        app, ["table", "--study", "loss_weights", "--storage", url, "--format", "markdown"]
    )
    assert result.exit_code == 0, result.output
    first, second = result.output.split("**loss_weights: ")[1:3]
    assert first.startswith("confirmation of the search's top 2, test split")
    assert second.startswith("top 4 of 4 trials by val_accuracy")
    budget = CliRunner().invoke(
        app, ["table", "--study", "loss_weights", "--storage", url, "--seed-budget", "-f", "csv"]
    )
    assert budget.exit_code == 0 and "accuracy_mde" in budget.output


def test_importances_leave_the_confirmation_runs_out(confirmed, fakes) -> None:
    """Confirmation runs are Optuna trials without parameters (user attributes only): the
    importances of the searched parameters still come from the sampled trials."""
    import optuna

    from ablate.report import param_importances
    from ablate.scheduler._optuna import fixed_trial

    url = confirmed.url.render_as_string(hide_password=False)
    study = optuna.create_study(study_name="loss_weights", storage=url, direction="maximize")
    for a, b, value, _ in SEARCHED:
        dists = {p: optuna.distributions.FloatDistribution(0.0, 1.0) for p in (A, B)}
        study.add_trial(optuna.trial.create_trial(params={A: a, B: b}, distributions=dists,
                                                  value=value))  # fmt: skip
    for value in (0.70, 0.69, 0.68):
        study.tell(fixed_trial(study, {}, {}, user_attrs={"phase": "confirm"}), value)
    importances = param_importances(confirmed, "loss_weights")
    assert set(importances) == {A, B} and sum(importances.values()) == pytest.approx(1.0)
