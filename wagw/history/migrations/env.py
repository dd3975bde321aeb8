"""alembic's environment for the history store: run programmatically by
wagw.history.store.migrate on the connection it passes (no alembic.ini, no URL here)."""

from __future__ import annotations

from alembic import context

from wagw.history.schema import VERSION_TABLE, metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
