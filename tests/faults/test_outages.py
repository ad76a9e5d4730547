"""The database stops, restarts and refuses connections: 503s that heal, never a 500."""

import asyncio
import time
from collections import Counter

import asyncpg
import httpx

from agora.auth.tokens import TokenCodec
from agora.db import migrations
from agora.db.engine import run_on_connection
from agora.db.session import Database
from tests.databases import make_settings
from tests.factories import Accounts, app_client
from tests.postgres_server import PostgresServer

UNAVAILABLE_CODES = {"database_unavailable", "database_busy", "commit_outcome_unknown"}


def assert_retry_later(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["code"] in UNAVAILABLE_CODES, response.text
    assert response.headers["retry-after"] == "1"


async def seconds_until_served(client: httpx.AsyncClient, headers: dict[str, str]) -> float:
    """How long, from now, until `GET /users/me` is a 200 again (the server just came back)."""
    started = time.monotonic()
    # Polling is the point: how soon a client that retries is served.
    while (await client.get("/api/v1/users/me", headers=headers)).status_code != 200:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_a_restart_under_load_answers_no_500_and_heals(
    server: PostgresServer, fault_client: httpx.AsyncClient, fault_accounts: Accounts
) -> None:
    ada = await fault_accounts.user("ada")
    statuses: Counter[int] = Counter()
    refusals: list[httpx.Response] = []
    written: list[int] = []
    stop = asyncio.Event()

    async def client_loop(number: int) -> None:
        sequence = 0
        while not stop.is_set():
            sequence += 1
            if number % 2:
                response = await fault_client.get("/api/v1/users/me", headers=ada.headers)
            else:
                response = await fault_client.post(
                    "/api/v1/posts",
                    json={"title": f"{number}-{sequence}", "content": "c"},
                    headers=ada.headers,
                )
                if response.status_code == 201:
                    written.append(response.json()["id"])
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                refusals.append(response)
                await asyncio.sleep(0.05)

    clients = [asyncio.create_task(client_loop(number)) for number in range(20)]
    await asyncio.sleep(0.3)
    await asyncio.to_thread(server.restart, "fast")
    healed = await seconds_until_served(fault_client, ada.headers)
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.gather(*clients)

    assert set(statuses) <= {200, 201, 503}, statuses
    for response in refusals:
        assert_retry_later(response)
    assert healed < 2.0
    listed = await fault_client.get(
        "/api/v1/posts", params={"author": "ada", "limit": 1}, headers=ada.headers
    )
    # Every acknowledged write is there; so may be those whose COMMIT was cut short.
    unknown = sum(r.json()["code"] == "commit_outcome_unknown" for r in refusals)
    assert len(written) <= listed.json()["total"] <= len(written) + unknown


async def test_a_stopped_database_is_a_prompt_503_until_it_is_back(
    server: PostgresServer, fault_client: httpx.AsyncClient, fault_accounts: Accounts
) -> None:
    ada = await fault_accounts.user("ada")
    await asyncio.to_thread(server.stop)
    for request in (
        fault_client.get("/api/v1/users/me", headers=ada.headers),
        fault_client.post(
            "/api/v1/posts", json={"title": "t", "content": "c"}, headers=ada.headers
        ),
    ):
        started = time.monotonic()
        response = await request
        assert time.monotonic() - started < 2.5  # the pool timeout, not a hang
        assert_retry_later(response)
        assert response.json()["code"] == "database_unavailable"
    await asyncio.to_thread(server.start)
    assert await seconds_until_served(fault_client, ada.headers) < 2.0


async def test_no_connection_left_on_the_server_is_a_503() -> None:
    """PostgreSQL's "sorry, too many clients already" (53300), on a server that allows
    three connections, all taken."""
    crowded = PostgresServer(max_connections="3", superuser_reserved_connections="0")
    try:
        crowded.start()
        settings = make_settings(crowded.url(), db_pool_timeout=1.0)
        await run_on_connection(settings.database_url, settings, migrations.upgrade)
        token = TokenCodec.from_settings(settings).issue(1, 1).access_token
        dsn = crowded.url().set(drivername="postgresql").render_as_string()
        holders = [await asyncpg.connect(dsn) for _ in range(3)]
        async with (
            Database.from_settings(settings) as database,
            app_client(settings, database) as client,
        ):
            crowded_out = await client.get(
                "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
            )
            await holders.pop().close()
            room_again = await client.get("/api/v1/posts")
        for holder in holders:
            await holder.close()
    finally:
        crowded.remove()
    assert_retry_later(crowded_out)
    assert crowded_out.json()["code"] == "database_unavailable"
    assert room_again.status_code == 200, room_again.text
