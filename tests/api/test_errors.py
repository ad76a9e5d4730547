"""Every failure is a JSON body with a stable code; database trouble is a 503, not a 500."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.api.dependencies import SessionDep
from agora.api.routing import TransactionalRoute
from agora.auth.tokens import TokenCodec
from agora.config import Settings
from agora.db.session import Database
from agora.main import create_app
from tests.databases import kill_other_connections, make_settings
from tests.factories import Accounts, app_client


async def test_unknown_paths_and_methods(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    wrong = await client.put("/api/v1/users")
    assert (wrong.status_code, wrong.json()["code"]) == (405, "method_not_allowed")


async def test_unexpected_errors_are_a_bare_500(settings: Settings, database: Database) -> None:
    app = create_app(settings, database=database)
    broken = APIRouter(route_class=TransactionalRoute)

    @broken.get("/broken")
    async def fail() -> None:
        raise RuntimeError("secret internals")

    app.include_router(broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://agora.test") as client:
        response = await client.get("/broken")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error.", "code": "internal_error"}
    assert "secret" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.dialects("postgresql")
@pytest.mark.parametrize(
    ("statement", "value"),
    [
        ("SELECT CAST(CAST(:value AS TEXT) AS INTEGER)", "abc"),  # refused by the server
        ("SELECT CAST(:value AS INTEGER)", "abc"),  # refused by asyncpg before sending
        ("SELECT CAST(:value AS BIGINT)", 2**70),
    ],
)
async def test_values_the_database_refuses_are_a_422(
    settings: Settings, database: Database, statement: str, value: object
) -> None:
    """The safety net under input validation: a refused value is the client's 422."""
    app = create_app(settings, database=database)
    router = APIRouter(route_class=TransactionalRoute)

    @router.get("/cast")
    async def cast(session: SessionDep) -> None:
        await session.execute(text(statement), {"value": value})

    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://agora.test") as client:
        response = await client.get("/cast")
    assert (response.status_code, response.json()["code"]) == (422, "invalid_value")


@pytest.fixture
async def tiny_pool(settings: Settings) -> AsyncIterator[Database]:
    tiny = settings.model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": 0.2}
    )
    async with Database.from_settings(tiny) as database:
        yield database


async def test_an_exhausted_pool_is_a_503_with_retry_after(
    settings: Settings, tiny_pool: Database
) -> None:
    app = create_app(settings, database=tiny_pool)
    token = TokenCodec.from_settings(settings).issue(1, 1).access_token
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://agora.test") as client,
        tiny_pool.transaction(read_only=True) as hog,
    ):
        await hog.execute(text("SELECT 1"))  # holds the read pool's only connection
        response = await client.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 503
    assert response.json()["code"] == "database_busy"
    assert response.headers["retry-after"] == "1"


@pytest.mark.dialects("postgresql", "mariadb")
async def test_requests_survive_a_database_restart(
    live_accounts: Accounts, live_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Pooled connections die with the server; the next requests still succeed, without
    paying for a pre-ping on every checkout."""
    ada = await live_accounts.user("ada")

    async def me() -> int:
        return (await live_client.get("/api/v1/users/me", headers=ada.headers)).status_code

    assert await asyncio.gather(*(me() for _ in range(5))) == [200] * 5
    assert await kill_other_connections(engine) >= 1
    assert await asyncio.gather(*(me() for _ in range(5))) == [200] * 5


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere",
        "mysql+aiomysql://root@127.0.0.1:1/nowhere",
    ],
)
async def test_an_unreachable_database_is_a_503(url: str) -> None:
    settings = make_settings(url)
    token = TokenCodec.from_settings(settings).issue(1, 1).access_token
    async with (
        Database.from_settings(settings) as database,
        app_client(settings, database) as client,
    ):
        response = await client.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    assert response.headers["retry-after"] == "1"


async def test_a_422_shows_twenty_errors_and_counts_the_rest(client: httpx.AsyncClient) -> None:
    body = {f"unknown_{index}": index for index in range(100)}
    response = await client.post("/api/v1/users", json=body)
    answer = response.json()
    assert (response.status_code, answer["code"]) == (422, "validation_error")
    assert len(answer["detail"]) == 20
    # 100 unknown fields and the three required ones that are missing
    assert answer["more_errors"] == 103 - 20
    few = (await client.post("/api/v1/users", json={"email": "x"})).json()
    assert "more_errors" not in few


@pytest.mark.dialects("mariadb")
async def test_mariadb_refusing_more_connections_is_a_503(
    settings: Settings, engine: AsyncEngine, database_url: URL
) -> None:
    """MariaDB's "already has more than 'max_user_connections' active connections"."""
    async with engine.connect() as admin:
        await admin.execute(
            text("CREATE OR REPLACE USER 'agora_one'@'%' WITH MAX_USER_CONNECTIONS 1")
        )
        await admin.execute(text(f"GRANT ALL ON `{database_url.database}`.* TO 'agora_one'@'%'"))
    limited = make_settings(database_url.set(username="agora_one", password=None))
    token = TokenCodec.from_settings(limited).issue(1, 1).access_token
    try:
        async with (
            Database.from_settings(limited) as database,
            database.transaction(read_only=True) as hog,
        ):
            await hog.execute(text("SELECT 1"))  # the user's one connection
            async with app_client(limited, database) as client:
                response = await client.get(
                    "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
                )
    finally:
        async with engine.connect() as admin:
            await admin.execute(text("DROP USER 'agora_one'@'%'"))
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "database_unavailable"
    assert response.headers["retry-after"] == "1"
