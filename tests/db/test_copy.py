"""Copying studies between databases: SQLite → PostgreSQL → SQLite keeps every row."""

from __future__ import annotations

from datetime import datetime

import optuna
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ablate.db import ensure_schema, make_engine
from ablate.db._schema import (
    ClassMetricRow,
    ConfusionRow,
    EpochMetricRow,
    EpochRow,
    ResultRow,
    StudyRow,
    TrialRow,
)
from ablate.db.copy import copy_study
from ablate.errors import NotFoundError, UsageError
from ablate.spec import grid_trials, parse_study

T0 = datetime(2026, 11, 20, 9, 0)
CHILDREN = (EpochRow, EpochMetricRow, ResultRow, ClassMetricRow, ConfusionRow)


def _run_key(seed: int) -> str:
    """The real run key of seed ``seed`` of _spec's one cell (the table shows only those)."""
    return {c.seed: c.run_key for c in grid_trials(parse_study(_spec_text("x")))}[seed]


def _trial(
    study_id: int, number: int, optuna_trial_id: int | None, state: str, host: str = "lab1"
) -> TrialRow:
    return TrialRow(
        study_id=study_id, optuna_trial_id=optuna_trial_id, number=number,
        run_key=_run_key(number % 3), cell_key='{"model.fusion":"concat"}',
        cell={"model.fusion": "concat"},
        params={"loss.distillation": 0.1 * number}, seed=number % 3, state=state, attempt=1,
        config={"train": {"epochs": 2}}, started_at=T0.replace(second=number), finished_at=T0,
        heartbeat_at=T0,
        host=host, pid=100 + number, device="cuda:0", versions={"torch": "2.14"},
        git_commit="abc", resumed_from_epoch=0, best_epoch=2, objective=0.6 + number / 100,
        error="", log_path="",
    )  # fmt: skip


def _spec_text(name: str) -> str:
    return f"name: {name}\ngrid:\n  model.fusion: [concat]\nseeds: [0, 1, 2]\n"


def _spec(name: str) -> dict:
    return parse_study(_spec_text(name)).model_dump(mode="json")


def populate(url: str, name: str = "fusion", *, n_trials: int = 3, created_at=T0) -> None:
    """An ablate study with epochs, metrics, results, class metrics and confusions + Optuna."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    engine = make_engine(url)
    ensure_schema(engine)
    o_study = optuna.create_study(study_name=name, storage=url, direction="maximize")
    o_study.set_user_attr("ablate", True)
    with Session(engine) as session, session.begin():
        session.add(StudyRow(
            name=name, description="Which fusion?", kind="grid", spec_text="name: fusion\n",
            spec_json=_spec(name), spec_path="studies/fusion.yaml", created_at=created_at,
            updated_at=created_at,
        ))  # fmt: skip
    engine.dispose()
    for _ in range(n_trials):
        add_trial(url, name)


def add_trial(
    url: str, name: str = "fusion", *, state: str = "complete", host: str = "lab1"
) -> int:
    """One more trial (Optuna and ablate), complete or still running; returns its number."""
    o_study = optuna.load_study(study_name=name, storage=url)
    o_trial = o_study.ask()
    o_trial.suggest_float("loss.distillation", 0.0, 1.0)
    o_trial.report(0.3, step=1)
    number = o_trial.number
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        study_id = session.scalar(select(StudyRow.id).where(StudyRow.name == name))
        trial = _trial(study_id, number, o_trial._trial_id, "running", host)
        session.add(trial)
        session.flush()
        _add_epoch(session, trial.id, 1)
    engine.dispose()
    if state == "complete":
        finish_trial(url, name, number)
    return number


def finish_trial(url: str, name: str, number: int) -> None:
    """A running trial's second epoch and results; it becomes complete on both sides."""
    o_study = optuna.load_study(study_name=name, storage=url)
    o_study.tell(number, 0.6 + number / 100)
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        study_id = session.scalar(select(StudyRow.id).where(StudyRow.name == name))
        trial = session.scalar(
            select(TrialRow).where(TrialRow.study_id == study_id, TrialRow.number == number)
        )
        trial.state, trial.heartbeat_at = "complete", T0.replace(hour=10)
        _add_epoch(session, trial.id, 2)
        for split in ("val", "test"):
            session.add(ResultRow(trial_id=trial.id, split=split, epoch=2, accuracy=0.6,
                                  kappa=0.5, macro_f1=0.55, loss=0.9, n_samples=100))  # fmt: skip
            session.add(ClassMetricRow(trial_id=trial.id, split=split, class_index=0,
                                       class_name="Residential area", accuracy=0.7,
                                       support=50))  # fmt: skip
            for true, pred in ((0, 0), (0, 1), (1, 1)):
                session.add(ConfusionRow(trial_id=trial.id, split=split, true_class=true,
                                         pred_class=pred, count=10 + true + pred))  # fmt: skip
    engine.dispose()


def _add_epoch(session: Session, trial_id: int, epoch: int) -> None:
    session.add(EpochRow(trial_id=trial_id, epoch=epoch, train_loss=1.0 / epoch,
                         val_loss=1.1 / epoch, val_accuracy=0.3 * epoch, lr=1e-3,
                         seconds=2.5))  # fmt: skip
    session.add(EpochMetricRow(trial_id=trial_id, epoch=epoch, name="loss.main",
                               value=0.9 / epoch))  # fmt: skip


def _optuna_trial(t: optuna.trial.FrozenTrial) -> tuple:
    return (t.number, t.state.name, t.value, t.params, t.intermediate_values, t.datetime_start,
            t.datetime_complete)  # fmt: skip


def snapshot(url: str, name: str = "fusion") -> dict:
    """Everything stored for a study, without database ids (which a copy remaps)."""
    engine = make_engine(url, create=False)
    o_study = optuna.load_study(study_name=name, storage=url)
    o_numbers = {t._trial_id: t.number for t in o_study.get_trials()}
    with Session(engine) as session:
        study = session.scalar(select(StudyRow).where(StudyRow.name == name))
        trials = session.scalars(
            select(TrialRow).where(TrialRow.study_id == study.id).order_by(TrialRow.number)
        ).all()
        number_of = {t.id: t.number for t in trials}

        def plain(row, drop=("id", "study_id", "trial_id", "optuna_trial_id")) -> dict:
            return {c.name: getattr(row, c.key) for c in row.__table__.columns
                    if c.name not in drop}  # fmt: skip

        children = {
            model.__tablename__: sorted(
                (number_of[r.trial_id], sorted(plain(r).items()))
                for r in session.scalars(select(model).where(model.trial_id.in_(number_of)))
            )
            for model in CHILDREN
        }
        result = {
            "study": plain(study),
            "trials": [plain(t) for t in trials],
            # Each trial row still points at the Optuna trial of the same number.
            "optuna_links": [o_numbers[t.optuna_trial_id] == t.number for t in trials],
            "children": children,
            "optuna": [_optuna_trial(t) for t in o_study.get_trials()],
            "optuna_user_attrs": o_study.user_attrs,
        }
    engine.dispose()
    return result


@pytest.mark.postgres
@pytest.mark.slow
def test_sqlite_to_postgresql_to_sqlite_round_trip(tmp_path, pg_url):
    first, last = f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}"
    populate(first, "other", n_trials=1)  # ids in the source no longer start at 1
    populate(first)
    copied = copy_study(first, pg_url, "fusion")
    assert [(c.name, c.trials, c.optuna_trials) for c in copied] == [("fusion", 3, 3)]
    assert copied[0].rows == {
        "ablate_epoch": 6, "ablate_epoch_metric": 6, "ablate_result": 6,
        "ablate_class_metric": 6, "ablate_confusion": 18,
    }  # fmt: skip
    copy_study(pg_url, last, "fusion")
    original = snapshot(first)
    assert all(original["optuna_links"])
    assert snapshot(pg_url) == original
    assert snapshot(last) == original
    tables = [_table(url) for url in (first, pg_url, last)]
    assert tables[0] == tables[1] == tables[2]  # `ablate table` reads the same on every copy
    assert "| concat | 3 | 60.00 ± 0.00 |" in tables[0]


def _table(url: str) -> str:
    from typer.testing import CliRunner

    from ablate.cli import app

    result = CliRunner().invoke(
        app, ["table", "--study", "fusion", "--storage", url, "--format", "markdown"]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_copy_all_studies_between_sqlite_files(tmp_path):
    src, dst = f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}"
    populate(src, "fusion")
    populate(src, "modality", n_trials=2)
    copied = copy_study(src, dst)
    assert [(c.name, c.trials) for c in copied] == [("fusion", 3), ("modality", 2)]
    assert snapshot(dst, "modality") == snapshot(src, "modality")


def test_another_study_of_the_same_name_is_refused(tmp_path):
    src, dst = f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}"
    populate(src)
    populate(dst, created_at=T0.replace(day=21))  # made there, not copied from src
    before = snapshot(dst)
    with pytest.raises(UsageError) as info:
        copy_study(src, dst, "fusion")
    assert str(info.value) == (
        f"Study 'fusion' in {dst} is another study of that name (created 2026-11-21 09:00:00, "
        "the source's 2026-11-20 09:00:00); nothing was copied. Rename one of them with "
        "'ablate db rename', or copy into another database."
    )
    assert snapshot(dst) == before


def test_an_optuna_only_clash_is_refused_too(tmp_path):
    src, dst = f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}"
    populate(src)
    optuna.create_study(study_name="fusion", storage=dst)
    with pytest.raises(UsageError) as info:
        copy_study(src, dst, "fusion")
    assert str(info.value) == (
        f"{dst} has an Optuna study 'fusion' without ablate results; nothing was copied. "
        "Delete it there with 'ablate db rm --study fusion', or copy into another database."
    )
    assert len(optuna.load_study(study_name="fusion", storage=dst).trials) == 0


def _merges(src: str, dst: str) -> None:
    populate(src, "other", n_trials=1)  # ids differ between the two databases
    populate(src, n_trials=2)
    assert [(c.trials, c.optuna_trials, c.merged) for c in copy_study(src, dst, "fusion")] == [
        (2, 2, False)
    ]
    add_trial(src)
    [again] = copy_study(src, dst, "fusion")
    assert (again.trials, again.updated, again.optuna_trials, again.merged) == (1, 0, 1, True)
    assert sum(again.rows.values()) == 14  # the new trial's rows only
    assert snapshot(dst) == snapshot(src)
    [third] = copy_study(src, dst, "fusion")
    assert (third.trials, third.updated, third.optuna_trials, sum(third.rows.values())) == (
        0, 0, 0, 0,
    )  # fmt: skip
    assert snapshot(dst) == snapshot(src)


def test_copying_again_adds_only_the_new_trials(tmp_path):
    _merges(f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}")


@pytest.mark.postgres
def test_copying_again_into_postgresql_and_back(tmp_path, pg_url):
    _merges(f"sqlite:///{tmp_path / 'a.sqlite'}", pg_url)
    back = f"sqlite:///{tmp_path / 'c.sqlite'}"
    populate(back, n_trials=0)  # an empty copy of the same study (same creation time)
    copy_study(pg_url, back, "fusion")
    copy_study(pg_url, back, "fusion")
    assert snapshot(back) == snapshot(pg_url)


def test_a_trial_running_when_copied_is_refreshed_when_it_finishes(tmp_path):
    src, dst = f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}"
    populate(src, n_trials=2)
    number = add_trial(src, state="running")
    copy_study(src, dst, "fusion")
    assert snapshot(dst)["optuna"][number][1] == "RUNNING"
    finish_trial(src, "fusion", number)
    [again] = copy_study(src, dst, "fusion")
    assert (again.trials, again.updated, again.optuna_trials) == (0, 1, 0)
    assert again.rows["ablate_result"] == 2 and again.rows["ablate_epoch"] == 2
    assert snapshot(dst) == snapshot(src)
    assert snapshot(dst)["optuna"][number][1] == "COMPLETE"


def test_a_trial_finished_in_the_destination_is_never_changed(tmp_path):
    src, dst = f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}"
    populate(src, n_trials=1)
    number = add_trial(src, state="running")
    copy_study(src, dst, "fusion")
    finish_trial(dst, "fusion", number)  # e.g. it was taken over and finished there
    before = snapshot(dst)
    [again] = copy_study(src, dst, "fusion")
    assert (again.trials, again.updated) == (0, 0)
    assert snapshot(dst) == before


def test_the_destination_s_own_trials_are_kept(tmp_path):
    src, dst = f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}"
    populate(src, n_trials=1)
    copy_study(src, dst, "fusion")
    add_trial(dst, host="lab2")  # seed 1 ran on in the destination ...
    add_trial(src)  # ... and in the source too: the same run twice, another trial
    add_trial(src)  # seed 2, only in the source
    [again] = copy_study(src, dst, "fusion")
    assert (again.trials, again.skipped, again.optuna_trials) == (1, 1, 1)
    merged = snapshot(dst)
    assert [t[0] for t in merged["optuna"]] == [0, 1, 2]
    assert all(merged["optuna_links"])
    assert [(t["seed"], t["host"]) for t in merged["trials"]] == [
        (0, "lab1"), (1, "lab2"), (2, "lab1"),
    ]  # fmt: skip


def test_unknown_study_and_passwords_are_redacted(tmp_path):
    src = f"sqlite:///{tmp_path / 'a.sqlite'}"
    populate(src)
    with pytest.raises(NotFoundError) as info:
        copy_study(src, "postgresql+psycopg://alice:s3cret@127.0.0.1:1/db", "fuson")
    assert str(info.value) == f"No study 'fuson' in {src}; the studies there are: fusion."
    with pytest.raises(UsageError) as info:
        copy_study(
            "postgresql+psycopg://alice:s3cret@h/db", "postgresql+psycopg://alice:s3cret@h/db"
        )
    assert "s3cret" not in str(info.value) and "alice:***@h" in str(info.value)


def test_missing_source_file(tmp_path):
    with pytest.raises(UsageError, match="No results database at"):
        copy_study(f"sqlite:///{tmp_path / 'none.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}")


def test_a_failed_copy_leaves_the_destination_as_it_was(tmp_path, monkeypatch):
    from ablate.db import copy as copy_module
    from ablate.errors import StorageError

    src, dst = f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}"
    populate(src, n_trials=2)

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(copy_module, "_copy_rows", broken)  # after Optuna's rows were written
    with pytest.raises(StorageError) as info:
        copy_study(src, dst, "fusion")
    assert str(info.value) == (
        f"Copying study 'fusion' to {dst} failed and was rolled back: RuntimeError: disk full"
    )
    assert optuna.get_all_study_names(storage=dst) == []
    monkeypatch.undo()
    assert copy_study(src, dst, "fusion")[0].trials == 2  # and a retry works
    add_trial(src, state="running")
    before = snapshot(dst)
    monkeypatch.setattr(copy_module, "_copy_rows", broken)
    with pytest.raises(StorageError):
        copy_study(src, dst, "fusion")
    assert snapshot(dst) == before  # a failed merge adds no Optuna trial either
