"""Migrations of ablate's tables: fresh databases, pre-migration databases, upgrades."""

from __future__ import annotations

import shutil
import threading
from datetime import datetime

import pytest
from sqlalchemy import inspect, text

from ablate.db import _migrate as migrate
from ablate.db import ensure_schema, make_engine, schema_version
from ablate.db._schema import Base
from ablate.errors import StorageError

NOW = datetime(2026, 11, 20, 9, 0)


def _insert_study(engine, name: str = "fusion") -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ablate_study (name, description, kind, spec_text, spec_json, "
                "spec_path, created_at, updated_at) VALUES (:n, '', 'grid', 'x: 1', '{}', '', "
                ":t, :t)"
            ),
            {"n": name, "t": NOW},
        )


def _revision(engine) -> str | None:
    with engine.connect() as connection:
        return migrate.current_revision(connection)


def test_head_constant_is_the_newest_revision():
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(migrate.alembic_config()).get_current_head() == migrate.HEAD


def test_fresh_sqlite_is_migrated_to_head_and_matches_the_models(sqlite_url):
    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    ensure_schema(engine)  # idempotent
    assert _revision(engine) == migrate.HEAD
    assert schema_version(engine) == 1
    # A failure here means _schema.py changed without a migration: add a revision in
    # ablate/db/migrations/versions/ (see the docstring of ablate/db/_migrate.py).
    assert migrate.schema_drift(engine) == []


@pytest.mark.postgres
def test_fresh_postgresql_is_migrated_and_matches_the_models(pg_url):
    engine = make_engine(pg_url)
    try:
        ensure_schema(engine)
        assert _revision(engine) == migrate.HEAD
        assert migrate.schema_drift(engine) == []
    finally:
        engine.dispose()


def test_pre_migration_database_is_stamped_and_keeps_rows(sqlite_url):
    engine = make_engine(sqlite_url)
    Base.metadata.create_all(engine)  # what ablate did before migrations existed…
    with engine.begin() as connection:  # …with the columns it had then
        for column in (
            "error_kind",
            "threads",
            "git_diff",
            "phase",
            "data_path",
            "peak_memory_bytes",
        ):
            connection.execute(text(f"ALTER TABLE ablate_trial DROP COLUMN {column}"))
        connection.execute(text("DROP TABLE ablate_estimate"))  # made by 0005
    _insert_study(engine)
    ensure_schema(engine)  # stamped 0001, then upgraded
    assert _revision(engine) == migrate.HEAD
    assert migrate.schema_drift(engine) == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT name FROM ablate_study")).scalars().all() == [
            "fusion"
        ]


def test_version_table_does_not_clash_with_optunas(sqlite_url):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study(study_name="fusion", storage=sqlite_url)
    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"alembic_version", "ablate_alembic_version", "studies", "ablate_study"} <= tables
    optuna.load_study(study_name="fusion", storage=sqlite_url)  # Optuna still happy


_REVISION_0002 = '''"""Test-only: a nullable column."""
import sqlalchemy as sa
from alembic import op

revision = "0099"
down_revision = "0005"
branch_labels = None
depends_on = None
AUTO_UPGRADE = {auto}


def upgrade():
    with op.batch_alter_table("ablate_study") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("ablate_study") as batch:
        batch.drop_column("note")
'''


@pytest.fixture
def with_revision_0002(tmp_path, monkeypatch):
    """A copy of the real migrations plus a test-only revision 0002."""

    def install(*, auto: bool) -> None:
        scripts = tmp_path / "migrations"
        shutil.copytree(migrate._MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
        (scripts / "versions" / "0099_note.py").write_text(_REVISION_0002.format(auto=auto))
        monkeypatch.setattr(migrate, "_MIGRATIONS", scripts)
        monkeypatch.setattr(migrate, "HEAD", "0099")

    return install


def test_database_written_by_0001_upgrades_to_head_and_keeps_rows(sqlite_url, with_revision_0002):
    engine = make_engine(sqlite_url)
    ensure_schema(engine)  # the real head
    _insert_study(engine)
    with_revision_0002(auto=True)
    ensure_schema(engine)
    assert _revision(engine) == "0099"
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT name, note FROM ablate_study")).all()
    assert [tuple(r) for r in rows] == [("fusion", None)]


def test_non_additive_revision_needs_an_explicit_upgrade(sqlite_url, with_revision_0002):
    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    with_revision_0002(auto=False)
    with pytest.raises(StorageError) as info:
        ensure_schema(engine)
    assert str(info.value) == (
        "The results database needs schema revision(s) 0099, which are not applied "
        "automatically; stop every run on it, then run 'ablate db upgrade --storage URL'."
    )
    assert migrate.upgrade(engine, explicit=True) == migrate.Upgrade("0005", "0099")


def test_database_newer_than_this_ablate_is_refused(sqlite_url):
    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE ablate_alembic_version SET version_num = '0199'"))
    with pytest.raises(StorageError, match="schema revision 0199, which this version of ablate"):
        ensure_schema(engine)


def test_concurrent_first_use_of_a_sqlite_file(sqlite_url):
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            ensure_schema(make_engine(sqlite_url))
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _revision(make_engine(sqlite_url)) == migrate.HEAD


@pytest.mark.slow
def test_concurrent_first_use_from_several_processes(sqlite_url):
    import subprocess
    import sys

    code = (
        "import sys; from ablate.db import ensure_schema, make_engine; "
        "ensure_schema(make_engine(sys.argv[1]))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, sqlite_url], stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    failures = [p.stderr.read().decode() for p in procs if p.wait() != 0]
    assert failures == []
    assert _revision(make_engine(sqlite_url)) == migrate.HEAD


def test_0002_gives_old_failures_their_error_kind(sqlite_url):
    from alembic import command

    engine = make_engine(sqlite_url)
    with engine.begin() as connection:
        command.upgrade(migrate.alembic_config(connection), "0001")
    _insert_study(engine)
    with engine.begin() as connection:
        for number, error in enumerate(["CUDA out of memory; retrying", "Traceback…"]):
            connection.execute(
                text(
                    "INSERT INTO ablate_trial (study_id, number, run_key, cell_key, cell, params, "
                    "seed, state, attempt, config, started_at, heartbeat_at, host, pid, device, "
                    "versions, git_commit, resumed_from_epoch, error, log_path) VALUES (1, :n, "
                    "'k', '{}', '{}', '{}', 0, 'failed', 1, '{}', :t, :t, 'h', 1, '', '{}', '', "
                    "0, :e, '')"
                ),
                {"n": number, "t": NOW, "e": error},
            )
    ensure_schema(engine)
    with engine.connect() as connection:
        kinds = connection.execute(text("SELECT error_kind FROM ablate_trial ORDER BY number"))
        assert kinds.scalars().all() == ["oom", "exception"]


def test_0003_adds_the_git_diff_of_trials_recorded_before_it_as_null(sqlite_url):
    from alembic import command

    engine = make_engine(sqlite_url)
    with engine.begin() as connection:
        command.upgrade(migrate.alembic_config(connection), "0002")
    _insert_study(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ablate_trial (study_id, number, run_key, cell_key, cell, params, "
                "seed, state, attempt, config, started_at, heartbeat_at, host, pid, device, "
                "versions, git_commit, resumed_from_epoch, error, log_path) VALUES (1, 0, 'k', "
                "'{}', '{}', '{}', 0, 'complete', 1, '{}', :t, :t, 'h', 1, '', '{}', "
                "'abc-dirty', 0, '', '')"
            ),
            {"t": NOW},
        )
    ensure_schema(engine)
    assert _revision(engine) == migrate.HEAD
    assert migrate.schema_drift(engine) == []
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT git_commit, git_diff FROM ablate_trial")).all()
    assert [tuple(r) for r in rows] == [("abc-dirty", None)]


def test_0004_gives_trials_recorded_before_it_no_phase_no_data_path_and_no_peak(sqlite_url):
    from alembic import command

    engine = make_engine(sqlite_url)
    with engine.begin() as connection:
        command.upgrade(migrate.alembic_config(connection), "0003")
    _insert_study(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ablate_trial (study_id, number, run_key, cell_key, cell, params, "
                "seed, state, attempt, config, started_at, heartbeat_at, host, pid, device, "
                "versions, git_commit, resumed_from_epoch, error, log_path) VALUES (1, 0, 'k', "
                "'{}', '{}', '{}', 0, 'complete', 1, '{}', :t, :t, 'h', 1, '', '{}', "
                "'abc', 0, '', '')"
            ),
            {"t": NOW},
        )
    ensure_schema(engine)
    assert _revision(engine) == migrate.HEAD
    assert migrate.schema_drift(engine) == []
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT phase, data_path, peak_memory_bytes FROM ablate_trial")
        ).all()
    assert [tuple(r) for r in rows] == [("", "", None)]


def test_0005_adds_an_empty_estimate_table_to_a_database_at_0004(sqlite_url):
    from alembic import command

    engine = make_engine(sqlite_url)
    with engine.begin() as connection:
        command.upgrade(migrate.alembic_config(connection), "0004")
    _insert_study(engine)
    assert "ablate_estimate" not in inspect(engine).get_table_names()
    ensure_schema(engine)
    assert _revision(engine) == migrate.HEAD
    assert migrate.schema_drift(engine) == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM ablate_estimate")).scalar() == 0
