"""Exporting a conversation as streamed NDJSON."""

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from agora.config import Settings
from agora.db.session import Database
from agora.main import create_app
from tests.chat.helpers import Chat
from tests.factories import Accounts


async def test_export_streams_every_message_in_order(
    client: httpx.AsyncClient, accounts: Accounts, chat: Chat
) -> None:
    ada = await accounts.user()
    conversation = await chat.start(ada)
    written = await chat.append(ada, conversation["id"], *[f"m{i}" for i in range(1000)])
    written += await chat.append(ada, conversation["id"], *[f"n{i}" for i in range(500)])
    written += await chat.append(ada, conversation["id"], "last", role="assistant")
    response = await client.get(
        f"/api/v1/conversations/{conversation['id']}/export", headers=ada.headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    assert "attachment" in response.headers["content-disposition"]
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines == written


async def test_exporting_an_empty_conversation_is_an_empty_body(
    client: httpx.AsyncClient, accounts: Accounts, chat: Chat
) -> None:
    ada = await accounts.user()
    conversation = await chat.start(ada)
    response = await client.get(
        f"/api/v1/conversations/{conversation['id']}/export", headers=ada.headers
    )
    assert (response.status_code, response.content) == (200, b"")


async def read_first_chunk_then_disconnect(app: Any, path: str, token: str) -> bytes:
    """Drive the app as uvicorn does (ASGI 2.3) and hang up after the first body chunk."""
    first_chunk = asyncio.Event()
    received = bytearray()

    async def receive() -> dict[str, Any]:
        await first_chunk.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            received.extend(message["body"])
            first_chunk.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"agora.test"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 1),
        "server": ("agora.test", 80),
        "state": {},
    }
    await asyncio.wait_for(app(scope, receive, send), timeout=30)
    return bytes(received)


async def hold_every_connection_at_once(database: Database, capacity: int) -> None:
    """Run `capacity` read units that each hold a connection until all of them do."""
    all_in = asyncio.Barrier(capacity)

    async def unit(session: AsyncSession) -> None:
        await session.execute(text("SELECT 1"))
        await all_in.wait()

    await asyncio.gather(
        *(database.run_in_transaction(unit, read_only=True) for _ in range(capacity))
    )


async def test_a_client_that_hangs_up_gives_the_connection_back(
    live_accounts: Accounts, live_client: httpx.AsyncClient, settings: Settings
) -> None:
    ada = await live_accounts.user("ada")
    chat = Chat(live_client)
    conversation = await chat.start(ada)
    for _ in range(4):
        await chat.append(ada, conversation["id"], *["x" * 2000] * 1000)
    small = settings.model_copy(
        update={"db_pool_size": 2, "db_max_overflow": 0, "db_pool_timeout": 2.0}
    )
    async with Database.from_settings(small) as database:
        app = create_app(small, database=database)
        token = ada.headers["Authorization"].removeprefix("Bearer ")
        path = f"/api/v1/conversations/{conversation['id']}/export"
        received = await read_first_chunk_then_disconnect(app, path, token)
        assert 0 < len(received) < 8_000_000  # cut off well before the ~8 MB export ended
        for engine in database.engines:
            assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        # The whole capacity is usable again: nothing is still held by the dead export.
        await asyncio.wait_for(hold_every_connection_at_once(database, capacity=2), 10)


@pytest.mark.parametrize("suffix", ["", "/export"])
async def test_an_export_of_a_conversation_transferred_away_is_404(
    client: httpx.AsyncClient, accounts: Accounts, chat: Chat, suffix: str
) -> None:
    ada, bob = await accounts.user(), await accounts.user()
    conversation = await chat.start(ada)
    await client.post(
        f"/api/v1/conversations/{conversation['id']}/transfer",
        json={"to_user_id": bob.id},
        headers=ada.headers,
    )
    response = await client.get(
        f"/api/v1/conversations/{conversation['id']}{suffix}", headers=ada.headers
    )
    assert response.status_code == 404
