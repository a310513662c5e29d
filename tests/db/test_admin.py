"""Deleting and renaming a study: ablate's rows and the Optuna study go together, or not at all."""

from __future__ import annotations

import optuna
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ablate.db import make_engine
from ablate.db._schema import StudyRow, TrialRow
from ablate.db.admin import StudyFootprint, delete_study, rename_study, study_footprint
from ablate.errors import NotFoundError, UsageError
from tests.db.test_copy import CHILDREN, T0, populate, snapshot

OPTUNA_TABLES = (
    "studies", "study_directions", "study_user_attributes", "study_system_attributes", "trials",
    "trial_params", "trial_values", "trial_intermediate_values", "trial_user_attributes",
    "trial_system_attributes", "trial_heartbeats",
)  # fmt: skip


def counts(url: str) -> dict[str, int]:
    """Rows in every ablate and Optuna table."""
    engine = make_engine(url, create=False)
    with engine.connect() as connection:
        tables = [m.__tablename__ for m in (StudyRow, TrialRow, *CHILDREN)] + list(OPTUNA_TABLES)
        result = {
            t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in tables
        }
    engine.dispose()
    return result


def _two_studies(url: str) -> None:
    populate(url, "other", n_trials=2)
    populate(url)


def _delete_keeps_the_other_study(url: str) -> None:
    _two_studies(url)
    other = snapshot(url, "other")
    only_other = counts(url)
    assert delete_study(url, "fusion") == StudyFootprint("fusion", True, 3, 0, 3)
    assert optuna.get_all_study_names(storage=url) == ["other"]
    assert snapshot(url, "other") == other
    left = counts(url)
    assert left["ablate_study"] == 1 and left["studies"] == 1
    assert left["ablate_trial"] == 2 and left["trials"] == 2
    assert left["ablate_confusion"] == only_other["ablate_confusion"] * 2 // 5
    assert left["trial_values"] == 2 and left["study_directions"] == 1


def test_delete_removes_both_sides_and_keeps_the_other_study(tmp_path):
    _delete_keeps_the_other_study(f"sqlite:///{tmp_path / 'a.sqlite'}")


@pytest.mark.postgres
def test_delete_on_postgresql(pg_url):
    _delete_keeps_the_other_study(pg_url)


def test_delete_the_empty_study_row_a_failed_start_leaves(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    populate(url, "other", n_trials=1)
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        session.add(StudyRow(name="broken", kind="grid", spec_text="", spec_json={},
                             created_at=T0, updated_at=T0))  # fmt: skip
    engine.dispose()
    assert study_footprint(url, "broken") == StudyFootprint("broken", True, 0, 0, None)
    delete_study(url, "broken")
    with pytest.raises(NotFoundError):
        study_footprint(url, "broken")
    assert counts(url)["ablate_study"] == 1


def test_delete_an_optuna_only_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    populate(url, "other", n_trials=1)
    optuna.create_study(study_name="stray", storage=url).optimize(lambda t: 1.0, n_trials=2)
    assert delete_study(url, "stray") == StudyFootprint("stray", False, 0, 0, 2)
    assert optuna.get_all_study_names(storage=url) == ["other"]


def test_unknown_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    _two_studies(url)
    with pytest.raises(NotFoundError) as info:
        delete_study(url, "fuson")
    assert str(info.value) == f"No study 'fuson' in {url}; the studies there are: fusion, other."


def test_a_failed_delete_changes_nothing(tmp_path, monkeypatch):
    from ablate.db import admin
    from ablate.errors import StorageError

    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    _two_studies(url)
    before = counts(url)

    def broken(*_args):
        raise OperationalError("DELETE FROM studies", {}, Exception("disk I/O error"))

    monkeypatch.setattr(admin, "delete_optuna_study", broken)  # after ablate's rows went
    with pytest.raises(StorageError) as info:
        delete_study(url, "fusion")
    assert str(info.value).startswith(f"Cannot change {url}; nothing was changed: Operational")
    assert counts(url) == before


def _rename(url: str) -> None:
    _two_studies(url)
    before = snapshot(url)
    assert rename_study(url, "fusion", "fusion-v1") == StudyFootprint("fusion-v1", True, 3, 0, 3)
    assert sorted(optuna.get_all_study_names(storage=url)) == ["fusion-v1", "other"]
    after = snapshot(url, "fusion-v1")
    assert after["study"].pop("name") == "fusion-v1"
    assert after["study"].pop("spec_json")["name"] == "fusion-v1"
    before["study"].pop("name"), before["study"].pop("spec_json")
    assert after == before


def test_rename_both_sides(tmp_path):
    _rename(f"sqlite:///{tmp_path / 'a.sqlite'}")


@pytest.mark.postgres
def test_rename_on_postgresql(pg_url):
    _rename(pg_url)


@pytest.mark.parametrize("taken", ["other", "stray"])
def test_rename_onto_an_existing_name_is_refused(tmp_path, taken):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    _two_studies(url)
    optuna.create_study(study_name="stray", storage=url)  # an Optuna study without ablate rows
    before = counts(url)
    with pytest.raises(UsageError) as info:
        rename_study(url, "fusion", taken)
    assert str(info.value) == (
        f"A study '{taken}' already exists in {url}; nothing was renamed. Pick another name, "
        f"or delete that one first with 'ablate db rm --study {taken}'."
    )
    assert counts(url) == before


def test_rename_to_a_bad_name(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    populate(url)
    with pytest.raises(UsageError, match="New study name 'a b' must be 1-64 letters"):
        rename_study(url, "fusion", "a b")
    engine = make_engine(url)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(StudyRow)) == 1
    engine.dispose()
