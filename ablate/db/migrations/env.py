"""Alembic environment, run programmatically by ``ablate.db._migrate`` (no alembic.ini).

The caller passes an open connection in ``config.attributes["connection"]``. ablate keeps its
revision in its own version table so it never clashes with Optuna's ``alembic_version`` table
in the same database; autogenerate only looks at ``ablate_*`` tables.
"""

from __future__ import annotations

from alembic import context

from ablate.db._schema import Base

VERSION_TABLE = "ablate_alembic_version"


def _include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table":
        return bool(name) and name.startswith("ablate_") and name != VERSION_TABLE
    return True


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        include_object=_include_object,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER on SQLite = copy table
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("ablate's migrations run online only: use 'ablate db upgrade'.")
run_migrations_online()
