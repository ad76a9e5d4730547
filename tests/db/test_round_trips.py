"""What a request costs in round trips on PostgreSQL.

Statements are seen where SQLAlchemy hands them to the driver; BEGIN and COMMIT, which
SQLAlchemy's asyncpg adapter sends through asyncpg's transaction API, are seen by
asyncpg's query logger.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from agora.config import Settings
from agora.db.session import Database
from tests.factories import Accounts

pytestmark = pytest.mark.dialects("postgresql")


class WireLog:
    def __init__(self) -> None:
        self._queries: list[str] = []

    async def queries(self) -> list[str]:
        """What was sent so far. asyncpg hands its log records to the event loop rather
        than to the logger at once, so the last ones are let through first."""
        await asyncio.sleep(0)
        return self._queries

    async def clear(self) -> None:
        (await self.queries()).clear()

    def record(self, query: str) -> None:
        self._queries.append(query.split()[0].rstrip(";").upper())

    def driver_query(self, record: Any) -> None:
        self.record(record.query)

    def statement(self, *args: Any) -> None:
        self.record(args[2])


@pytest.fixture
async def wire(settings: Settings, live_database: Database) -> AsyncIterator[WireLog]:
    log = WireLog()

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(log.driver_query)

    for engine in live_database.engines:  # the primary and the read engine
        event.listen(engine.sync_engine, "connect", on_connect)
        event.listen(engine.sync_engine, "before_cursor_execute", log.statement)
    yield log
    for engine in live_database.engines:
        event.remove(engine.sync_engine, "connect", on_connect)
        event.remove(engine.sync_engine, "before_cursor_execute", log.statement)


async def test_a_read_request_sends_only_its_selects(
    live_accounts: Accounts, live_client: httpx.AsyncClient, wire: WireLog
) -> None:
    ada, bob = await live_accounts.user("ada"), await live_accounts.user("bob")
    await wire.clear()
    response = await live_client.get(f"/api/v1/users/{bob.id}", headers=ada.headers)
    assert response.status_code == 200
    # Who is calling, then the user asked for: no BEGIN, no COMMIT, no ping.
    assert await wire.queries() == ["SELECT", "SELECT"]


async def test_a_write_request_is_one_transaction(
    live_accounts: Accounts, live_client: httpx.AsyncClient, wire: WireLog
) -> None:
    ada = await live_accounts.user("ada")
    await wire.clear()
    response = await live_client.patch(
        f"/api/v1/users/{ada.id}", json={"full_name": "Ada"}, headers=ada.headers
    )
    assert response.status_code == 200
    # Who is calling, the account to change, the change, in one transaction. (The
    # statement hook fires before the adapter sends its lazy BEGIN, hence sorted.)
    assert sorted(await wire.queries()) == ["BEGIN", "COMMIT", "SELECT", "SELECT", "UPDATE"]
