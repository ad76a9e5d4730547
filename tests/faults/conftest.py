"""A PostgreSQL server of this module's own, migrated, and an app served from it."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from agora.config import Settings
from agora.db import migrations
from agora.db.engine import run_on_connection
from agora.db.session import Database
from tests.databases import empty_all_tables, make_settings
from tests.factories import Accounts, app_client
from tests.postgres_server import PostgresServer


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.remove()


@pytest.fixture(scope="module")
async def fault_settings(server: PostgresServer) -> Settings:
    settings = make_settings(server.url(), db_pool_timeout=2.0)
    await run_on_connection(settings.database_url, settings, migrations.upgrade)
    return settings


@pytest.fixture
async def fault_database(
    server: PostgresServer, fault_settings: Settings
) -> AsyncIterator[Database]:
    async with Database.from_settings(fault_settings) as database:
        yield database
    if not server.running():
        server.start()
    await empty_all_tables(database.engines[0])


@pytest.fixture
async def fault_client(
    fault_settings: Settings, fault_database: Database
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(fault_settings, fault_database) as client:
        yield client


@pytest.fixture
def fault_accounts(
    fault_client: httpx.AsyncClient, fault_database: Database, fault_settings: Settings
) -> Accounts:
    return Accounts(fault_client, fault_database, fault_settings)
