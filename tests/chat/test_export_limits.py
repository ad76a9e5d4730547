"""Exports that cannot starve the service or lie: own pool, per-user slots, a send
timeout, batches bounded in bytes, and a 503 rather than a 200 cut short."""

import asyncio
import socket
import time

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.chat.models import Message
from agora.config import Settings
from agora.db.session import Database
from agora.db.streams import bounded_batches
from tests.agora_server import serving
from tests.chat.helpers import Chat
from tests.databases import empty_all_tables
from tests.factories import Accounts, app_client


async def test_without_a_free_connection_an_export_is_a_503_before_any_byte(
    settings: Settings, live_database: Database
) -> None:
    one = settings.model_copy(update={"export_concurrency": 1, "db_pool_timeout": 0.3})
    async with Database.from_settings(one) as database, app_client(one, database) as client:
        accounts, chat = Accounts(client, database, one), Chat(client)
        ada = await accounts.user("ada")
        conversation = await chat.start(ada)
        path = f"/api/v1/conversations/{conversation['id']}/export"
        async with database.snapshot():  # the exports' one connection
            refused = await client.get(path, headers=ada.headers)
        served = await client.get(path, headers=ada.headers)
    assert refused.status_code == 503
    assert refused.json()["code"] == "database_busy"
    assert refused.headers["retry-after"] == "1"
    assert served.status_code == 200


async def test_batches_are_bounded_in_bytes_whatever_the_rows_hold(
    client: httpx.AsyncClient, accounts: Accounts, chat: Chat, database: Database
) -> None:
    ada = await accounts.user()
    conversation = await chat.start(ada)
    await chat.append(ada, conversation["id"], *["x" * 100_000 for _ in range(60)])
    for part in range(3):
        await chat.append(ada, conversation["id"], *[f"short {part}.{i}" for i in range(1000)])
    sizes = []
    async with database.snapshot() as session:
        result = await session.stream(select(Message.id, Message.content).order_by(Message.id))
        async for batch in bounded_batches(result, max_rows=1000, max_bytes=500_000):
            sizes.append(len(batch))
    assert sum(sizes) == 3060
    assert sizes[0] == 16  # a small first fetch, then as many as fit in the budget
    assert set(sizes[1:4]) == {4}  # rows of a little over 100 kB: 4 under 500 kB
    assert max(sizes) == 1000  # short rows: the row cap


async def test_csv_cells_that_would_run_as_formulas_are_neutralized(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    admin = await accounts.admin()
    titles = ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "plain"]
    for title in titles:
        created = await client.post(
            "/api/v1/posts", json={"title": title, "content": "c"}, headers=admin.headers
        )
        assert created.status_code == 201, created.text
    csv = await client.get(
        "/api/v1/admin/exports/posts", params={"format": "csv"}, headers=admin.headers
    )
    cells = csv.text
    assert "'=HYPERLINK" in cells
    assert "'+1+1" in cells
    assert "'-2+3" in cells
    assert "'@SUM(A1)" in cells
    assert ",plain," in cells
    ndjson = await client.get("/api/v1/admin/exports/posts", headers=admin.headers)
    assert '"title":"=HYPERLINK' in ndjson.text  # NDJSON is data, not a spreadsheet


def stalled_export(port: int, path: str, token: str) -> socket.socket:
    """A client that asks for an export and never reads it."""
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect(("127.0.0.1", port))
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
    client.sendall(request.encode())
    return client


async def status_of(base_url: str, path: str, headers: dict[str, str]) -> tuple[int, float]:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        started = time.monotonic()
        response = await client.get(path, headers=headers)
        return response.status_code, time.monotonic() - started


@pytest.mark.server
@pytest.mark.dialects("sqlite", "postgresql")
async def test_stalled_exports_hold_their_own_slots_until_cut(
    settings: Settings, engine: AsyncEngine
) -> None:
    """Two unread exports of one user: the user's third is 429, everyone else's reads
    and exports go on, and after the send timeout the stalled streams are cut and their
    slots and connections come back."""
    try:
        async with serving(
            settings,
            AGORA_EXPORT_CONCURRENCY="3",
            AGORA_EXPORTS_PER_USER="2",
            AGORA_EXPORT_SEND_TIMEOUT_SECONDS="1",
            AGORA_DB_POOL_TIMEOUT="1",
        ) as base_url:
            port = int(base_url.rsplit(":", 1)[1])
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
                accounts, chat = Accounts(client, None, settings), Chat(client)
                ada, bob = await accounts.user("ada"), await accounts.user("bob")
                big = await chat.start(ada)
                for _ in range(2):  # 20 MB: more than the sockets' buffers
                    await chat.append(ada, big["id"], *["y" * 100_000 for _ in range(100)])
                bobs = await chat.start(bob)
                await chat.append(bob, bobs["id"], "hello")
            path = f"/api/v1/conversations/{big['id']}/export"
            token = ada.headers["Authorization"].removeprefix("Bearer ")
            stalled = [stalled_export(port, path, token) for _ in range(2)]
            await asyncio.sleep(0.3)
            third = await status_of(base_url, path, ada.headers)
            reads = [await status_of(base_url, "/api/v1/users/me", bob.headers) for _ in range(5)]
            bobs_export = await status_of(
                base_url, f"/api/v1/conversations/{bobs['id']}/export", bob.headers
            )
            await asyncio.sleep(2.5)  # past the send timeout: both stalled streams are cut
            again = await status_of(base_url, path.replace(big["id"], bobs["id"]), bob.headers)
            adas_next = await status_of(
                base_url, f"/api/v1/conversations/{big['id']}/export", ada.headers
            )
            for client_socket in stalled:
                client_socket.close()
    finally:
        await empty_all_tables(engine)
    assert third[0] == 429
    assert all(status == 200 and seconds < 1 for status, seconds in reads), reads
    assert bobs_export[0] == 200
    assert again[0] == 200
    assert adas_next[0] == 200  # ada's slots were given back
