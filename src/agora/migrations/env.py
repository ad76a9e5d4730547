"""Alembic environment: async engines, batch mode on SQLite, every feature's models.

Run through `agora db upgrade` (or `alembic` with the repository's alembic.ini). Code that
already holds a connection passes it as ``config.attributes["connection"]``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from alembic import context

import agora.models  # noqa: F401  (registers every feature's tables on Base.metadata)
from agora.config import get_settings
from agora.db.base import Base
from agora.db.engine import run_on_connection
from agora.db.search import SEARCH_PREFIX

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

target_metadata = Base.metadata


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Search structures differ by database and live in the migrations alone."""
    return name is None or not name.startswith(SEARCH_PREFIX)


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        # SQLite alters a table by copying it; batch mode writes migrations that way.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_with_new_engine() -> None:
    settings = get_settings()
    await run_on_connection(
        settings.database_url, settings, lambda connection: connection.run_sync(run_migrations)
    )


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")

shared_connection = context.config.attributes.get("connection")
if shared_connection is None:
    asyncio.run(run_migrations_with_new_engine())
else:
    run_migrations(shared_connection)
