"""The database matrix and the per-test fixtures.

Every test that takes `client`, `database` or `connection` runs three times: on SQLite,
PostgreSQL and MariaDB (markers ``sqlite``, ``postgresql``, ``mariadb`` select them).
Each pytest worker gets its own database per dialect, created empty and brought to the
latest revision with ``alembic upgrade head`` (so the migrations run on every test run).

Isolation: a test runs inside an outer transaction that is rolled back at its end. The
app's sessions join it with ``join_transaction_mode="create_savepoint"``, so the app's own
COMMITs and ROLLBACKs stay inside the test. Every request gets a new session, so nothing
a fixture loaded can hide a missing eager load; the client also expunges the fixture
session before each request.

Tests that need real commits and concurrency (``live_database``) use their own engine and
empty the tables afterwards.

A server that cannot be reached is skipped with the reason, or fails the run when the
environment variable CI is set.
"""

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

import agora.models  # noqa: F401  (every table on Base.metadata)
from agora.config import Settings
from agora.db import migrations
from agora.db.engine import create_engine, run_on_connection
from agora.db.session import Database
from agora.main import create_app
from tests.databases import (
    SERVER_URLS,
    CountStatements,
    StatementCounter,
    drop_server_database,
    empty_all_tables,
    empty_database_url,
    make_settings,
)
from tests.factories import Accounts, app_client

pytest_plugins = ["tests.money"]

DIALECTS = ["sqlite", "postgresql", "mariadb"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``@pytest.mark.dialects("postgresql", ...)`` keeps a test to those databases."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("dialects")
        params = getattr(item, "callspec", None)
        dialect = params.params.get("dialect") if params else None
        if marker is not None and dialect is not None and dialect not in marker.args:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(
    scope="session",
    params=[pytest.param(dialect, marks=getattr(pytest.mark, dialect)) for dialect in DIALECTS],
)
def dialect(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="session")
async def database_url(
    dialect: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[URL]:
    """This worker's test database for `dialect`, migrated to head once per run."""
    url = await empty_database_url(dialect, "main", tmp_path_factory.getbasetemp())
    await run_on_connection(url, make_settings(url), migrations.upgrade)
    yield url
    if dialect != "sqlite":
        await drop_server_database(SERVER_URLS[dialect], url.database or "")


@pytest.fixture(scope="session")
def settings(database_url: URL) -> Settings:
    return make_settings(database_url)


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url, settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back when the test ends."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        if transaction.is_active:
            await transaction.rollback()


@pytest.fixture
def database(connection: AsyncConnection) -> Database:
    return Database.bound_to(connection)


@pytest.fixture
async def session(database: Database) -> AsyncIterator[AsyncSession]:
    """A session for the test's own reads and setup, inside the rolled-back transaction."""
    async with database.session() as session:
        yield session


@pytest.fixture
def app(settings: Settings, database: Database) -> Any:
    return create_app(settings, database=database)


@pytest.fixture
async def client(app: Any, session: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:
    async def expunge_fixture_session(_request: httpx.Request) -> None:
        session.expunge_all()

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://agora.test",
        event_hooks={"request": [expunge_fixture_session]},
    ) as client:
        yield client


@pytest.fixture
def accounts(client: httpx.AsyncClient, database: Database, settings: Settings) -> Accounts:
    return Accounts(client, database, settings)


@pytest.fixture
def count_statements(connection: AsyncConnection) -> CountStatements:
    """``with count_statements() as counter: ...``; then ``counter.count``."""

    @contextmanager
    def counting() -> Iterator[StatementCounter]:
        counter = StatementCounter()
        event.listen(connection.sync_connection, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(connection.sync_connection, "before_cursor_execute", counter)

    return counting


@pytest.fixture
async def live_database(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Database]:
    """A real Database that commits, for concurrency tests; the tables are emptied after."""
    async with Database.from_settings(settings) as database:
        yield database
    await empty_all_tables(engine)


@pytest.fixture
async def live_client(
    settings: Settings, live_database: Database
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings, live_database) as client:
        yield client


@pytest.fixture
def live_accounts(
    live_client: httpx.AsyncClient, live_database: Database, settings: Settings
) -> Accounts:
    """`accounts` for tests on the committing app (`live_client`, `live_database`)."""
    return Accounts(live_client, live_database, settings)
