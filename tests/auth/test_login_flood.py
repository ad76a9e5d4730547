"""A flood of logins: hashing holds no database connection and waits its turn, or is 503."""

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest

from agora.config import Settings
from agora.db.session import Database
from tests.factories import Accounts, app_client
from tests.posts.helpers import Blog

TOKEN = "/api/v1/auth/token"
# ~60 ms a hash here: long enough that a login holding the database would be noticed.
REAL_COST = {"argon2_time_cost": 3, "argon2_memory_cost_kib": 32768, "argon2_parallelism": 1}


@pytest.fixture
async def flood_client(
    settings: Settings, live_database: Database
) -> AsyncIterator[httpx.AsyncClient]:
    """Real hashing, two at a time, and logins that wait as long as the flood lasts."""
    costly = settings.model_copy(
        update={
            **REAL_COST,
            "password_hashing_concurrency": 2,
            "password_hashing_wait_seconds": 60.0,
        }
    )
    async with app_client(costly, live_database) as client:
        yield client


async def wrong_logins(client: httpx.AsyncClient, login: str, count: int) -> Counter[int]:
    responses = await asyncio.gather(
        *(client.post(TOKEN, data={"username": login, "password": "wrong!"}) for _ in range(count))
    )
    return Counter(response.status_code for response in responses)


async def test_writes_keep_their_pace_during_sixty_logins(
    flood_client: httpx.AsyncClient, live_database: Database, settings: Settings
) -> None:
    """Before hashing stepped out of the unit of work, each login held a connection (on
    SQLite the write lock) for its whole turn at the hasher: other users' writes waited
    for the flood to drain, seconds, and on SQLite timed out."""
    accounts = Accounts(flood_client, live_database, settings)
    victim = await accounts.user("victim")
    writer = await accounts.user("writer")
    blog = Blog(flood_client)
    # The writer's first post pays for connections and statements once, flood or not.
    await blog.post(writer, title="written before the flood")

    flood = asyncio.create_task(wrong_logins(flood_client, victim.username, 60))
    await asyncio.sleep(0.5)  # every login has read its account and is waiting to hash
    latencies = []
    for number in range(10):
        started = time.perf_counter()
        await blog.post(writer, title=f"written during the flood {number}")
        latencies.append(time.perf_counter() - started)
    assert not flood.done(), "the flood ended before the writes: nothing was shown"

    assert await flood == Counter({401: 60})
    assert max(latencies) < 0.5, latencies


async def test_logins_beyond_a_short_wait_are_503_service_busy(
    settings: Settings, live_database: Database
) -> None:
    impatient = settings.model_copy(
        update={
            **REAL_COST,
            "password_hashing_concurrency": 1,
            "password_hashing_wait_seconds": 0.05,
        }
    )
    async with app_client(impatient, live_database) as client:
        accounts = Accounts(client, live_database, settings)
        victim = await accounts.user("victim")
        responses = await asyncio.gather(
            *(
                client.post(TOKEN, data={"username": victim.username, "password": "wrong!"})
                for _ in range(8)
            )
        )
        busy = [response for response in responses if response.status_code == 503]
        assert busy, [response.status_code for response in responses]
        assert {response.status_code for response in responses} == {401, 503}
        for response in busy:
            assert response.json()["code"] == "service_busy"
            assert response.headers["retry-after"] == "1"
        # Once the flood is over, the account logs in at once.
        await accounts.login(victim.username)
