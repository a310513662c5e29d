"""Alembic migrations for ablate's own tables (run programmatically by ``ensure_schema``)."""
