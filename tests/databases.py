"""The test databases: settings, empty databases per worker, and what tests do to them
(count statements, empty tables, cut connections)."""

import hashlib
import os
import socket
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.config import Settings
from agora.db.base import Base
from agora.db.engine import create_engine

IN_CI = bool(os.environ.get("CI"))
SERVER_URLS = {
    "postgresql": os.environ.get(
        "AGORA_TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    ),
    "mariadb": os.environ.get(
        "AGORA_TEST_MARIADB_URL", "mysql+aiomysql://root@127.0.0.1:3306/test"
    ),
}


def make_settings(database_url: str | URL, **overrides: Any) -> Settings:
    """Settings for tests: cheap argon2, a fixed secret, nothing read from a .env file."""
    if isinstance(database_url, URL):
        database_url = database_url.render_as_string(hide_password=False)
    values: dict[str, Any] = {
        "database_url": database_url,
        "argon2_time_cost": 1,
        "argon2_memory_cost_kib": 8,
        "argon2_parallelism": 1,
        "jwt_secret": SecretStr("test-secret-" + hashlib.sha256(b"agora tests").hexdigest()),
        # The in-process clients' base URL, beside the defaults.
        "allowed_hosts": ["agora.test", "localhost", "127.0.0.1", "[::1]"],
        # Tests register and sign in hundreds of users from one address; the tests of
        # the limits turn them on.
        "rate_limits_enabled": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


async def recreate_server_database(server_url: str, name: str) -> URL:
    """Drop and create database `name` on the server; return its URL."""
    admin = create_engine(server_url, make_settings(server_url))
    try:
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            if admin.dialect.name == "postgresql":
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
            else:
                await connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
                await connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    finally:
        await admin.dispose()
    return make_url(server_url).set(database=name)


async def drop_server_database(server_url: str, name: str) -> None:
    admin = create_engine(server_url, make_settings(server_url))
    try:
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            quoted = f'"{name}" WITH (FORCE)' if admin.dialect.name == "postgresql" else f"`{name}`"
            await connection.execute(text(f"DROP DATABASE IF EXISTS {quoted}"))
    finally:
        await admin.dispose()


async def empty_database_url(dialect: str, suffix: str, tmp_dir: Path) -> URL:
    """A new, empty database of `dialect` for this worker; skips (or fails in CI) if down."""
    name = f"agora_test_{_worker()}_{suffix}"
    if dialect == "sqlite":
        path = tmp_dir / f"{name}.db"
        path.unlink(missing_ok=True)
        return make_url(f"sqlite+aiosqlite:///{path}")
    try:
        return await recreate_server_database(SERVER_URLS[dialect], name)
    except Exception as error:
        reason = f"{dialect} server unreachable at {SERVER_URLS[dialect]}: {error}"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


class StatementCounter:
    """Counts the SQL statements a block sends, savepoint bookkeeping excluded."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, *args: Any) -> None:
        statement: str = args[2]
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


CountStatements = Callable[[], AbstractContextManager[StatementCounter]]


async def empty_all_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())


async def kill_other_connections(engine: AsyncEngine) -> int:
    """Terminate every other server connection to this database, as a restart would."""
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        if engine.dialect.name == "postgresql":
            result = await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            return len(result.all())
        ids = (
            await connection.execute(
                text(
                    "SELECT id FROM information_schema.processlist "
                    "WHERE db = DATABASE() AND id <> CONNECTION_ID()"
                )
            )
        ).scalars()
        killed = 0
        for connection_id in ids:
            await connection.execute(text(f"KILL {int(connection_id)}"))
            killed += 1
        return killed


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
