"""/healthz and /readyz."""

import asyncio
import contextlib
from pathlib import Path

import httpx

from agora.config import Settings
from agora.db.errors import DatabaseBusy
from agora.db.migrations import head_revision
from agora.db.session import Database
from agora.main import create_app
from tests.databases import empty_database_url, make_settings


async def get(app_settings: Settings, path: str) -> httpx.Response:
    async with Database.from_settings(app_settings) as database:
        transport = httpx.ASGITransport(app=create_app(app_settings, database=database))
        async with httpx.AsyncClient(transport=transport, base_url="http://agora.test") as client:
            return await client.get(path)


async def test_healthz_answers_without_a_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_is_200_at_the_latest_migration(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "revision": head_revision()}


async def test_readyz_is_503_before_migrations(dialect: str, tmp_path: Path) -> None:
    url = await empty_database_url(dialect, "unmigrated", tmp_path)
    response = await get(make_settings(url), "/readyz")
    assert response.status_code == 503
    assert response.json()["code"] == "migrations_pending"


async def test_readyz_is_503_when_the_database_does_not_answer() -> None:
    unreachable = make_settings("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    response = await get(unreachable, "/readyz")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"


async def test_readyz_says_when_a_pool_has_been_saturated_longer_than_its_timeout(
    settings: Settings,
) -> None:
    """One connection, held; units of work queue for it one after another, each giving
    up after the pool timeout: once the queue has lasted longer than that timeout the
    service is not ready (database_busy), and it is again once the queue is gone."""
    tiny = settings.model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": 0.3}
    )

    async def queue_for_the_connection(database: Database) -> None:
        with contextlib.suppress(DatabaseBusy):
            async with database.transaction():
                pass

    async with Database.from_settings(tiny) as database:
        app = create_app(tiny, database=database)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agora.test") as client:
            async with database.transaction():
                assert (await client.get("/readyz")).status_code == 200  # held, no queue
                waiters = []
                for _ in range(8):
                    waiters.append(asyncio.create_task(queue_for_the_connection(database)))
                    await asyncio.sleep(0.1)
                busy = await client.get("/readyz")
            await asyncio.gather(*waiters)
            ready = await client.get("/readyz")
    assert busy.status_code == 503
    assert busy.json()["code"] == "database_busy"
    assert "the primary pool for" in busy.json()["detail"]
    assert busy.headers["retry-after"] == "1"
    assert ready.status_code == 200
