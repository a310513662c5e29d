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
from ablate.spec import parse_study

T0 = datetime(2026, 11, 20, 9, 0)
CHILDREN = (EpochRow, EpochMetricRow, ResultRow, ClassMetricRow, ConfusionRow)


def _trial(study_id: int, number: int, optuna_trial_id: int | None, state: str) -> TrialRow:
    return TrialRow(
        study_id=study_id, optuna_trial_id=optuna_trial_id, number=number,
        run_key=f"run{number}", cell_key='{"model.fusion":"concat"}',
        cell={"model.fusion": "concat"},
        params={"loss.distillation": 0.1 * number}, seed=number, state=state, attempt=1,
        config={"train": {"epochs": 2}}, started_at=T0, finished_at=T0, heartbeat_at=T0,
        host="lab1", pid=100 + number, device="cuda:0", versions={"torch": "2.14"},
        git_commit="abc", resumed_from_epoch=0, best_epoch=2, objective=0.6 + number / 100,
        error="", log_path="",
    )  # fmt: skip


def _spec(name: str) -> dict:
    text = f"name: {name}\ngrid:\n  model.fusion: [concat]\nseeds: [0, 1, 2]\n"
    return parse_study(text).model_dump(mode="json")


def populate(url: str, name: str = "fusion", *, n_trials: int = 3) -> None:
    """An ablate study with epochs, metrics, results, class metrics and confusions + Optuna."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    engine = make_engine(url)
    ensure_schema(engine)
    o_study = optuna.create_study(study_name=name, storage=url, direction="maximize")
    o_study.set_user_attr("ablate", True)
    o_trials = []
    for number in range(n_trials):
        o_trial = o_study.ask()
        o_study.tell(o_trial, 0.6 + number / 100)
        o_trials.append(o_trial)
    with Session(engine) as session, session.begin():
        study = StudyRow(
            name=name, description="Which fusion?", kind="grid", spec_text="name: fusion\n",
            spec_json=_spec(name), spec_path="studies/fusion.yaml", created_at=T0,
            updated_at=T0,
        )  # fmt: skip
        session.add(study)
        session.flush()
        for o_trial in o_trials:
            trial = _trial(study.id, o_trial.number, o_trial._trial_id, "complete")
            session.add(trial)
            session.flush()
            for epoch in (1, 2):
                session.add(EpochRow(trial_id=trial.id, epoch=epoch, train_loss=1.0 / epoch,
                                     val_loss=1.1 / epoch, val_accuracy=0.3 * epoch, lr=1e-3,
                                     seconds=2.5))  # fmt: skip
                session.add(EpochMetricRow(trial_id=trial.id, epoch=epoch, name="loss.main",
                                           value=0.9 / epoch))  # fmt: skip
            for split in ("val", "test"):
                session.add(ResultRow(trial_id=trial.id, split=split, epoch=2, accuracy=0.6,
                                      kappa=0.5, macro_f1=0.55, loss=0.9,
                                      n_samples=100))  # fmt: skip
                session.add(ClassMetricRow(trial_id=trial.id, split=split, class_index=0,
                                           class_name="Residential area", accuracy=0.7,
                                           support=50))  # fmt: skip
                for true, pred in ((0, 0), (0, 1), (1, 1)):
                    session.add(ConfusionRow(trial_id=trial.id, split=split, true_class=true,
                                             pred_class=pred, count=10 + true + pred))  # fmt: skip
    engine.dispose()


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
            "optuna": [(t.number, t.state.name, t.value) for t in o_study.get_trials()],
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


def test_existing_study_in_destination_is_refused(tmp_path):
    src, dst = f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}"
    populate(src)
    populate(dst)
    before = snapshot(dst)
    with pytest.raises(UsageError) as info:
        copy_study(src, dst, "fusion")
    assert str(info.value) == (
        f"Study 'fusion' already exists in {dst}; nothing was copied. Copy into another "
        "database, or give the study another name in its YAML and run it afresh."
    )
    assert snapshot(dst) == before


def test_an_optuna_only_clash_is_refused_too(tmp_path):
    src, dst = f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}"
    populate(src)
    optuna.create_study(study_name="fusion", storage=dst)
    with pytest.raises(UsageError, match="Study 'fusion' already exists"):
        copy_study(src, dst, "fusion")


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
    populate(src)

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(copy_module, "_copy_rows", broken)
    with pytest.raises(StorageError) as info:
        copy_study(src, dst, "fusion")
    assert str(info.value) == (
        f"Copying study 'fusion' to {dst} failed and was rolled back: RuntimeError: disk full"
    )
    assert optuna.get_all_study_names(storage=dst) == []
    monkeypatch.undo()
    assert copy_study(src, dst, "fusion")[0].trials == 3  # and a retry works
