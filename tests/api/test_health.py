"""/healthz and /readyz."""

from pathlib import Path

import httpx

from agora.config import Settings
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
