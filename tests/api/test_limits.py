"""Bounded work per request: each route caps its body, read before any connection is held."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agora.api.limits import DEFAULT_MAX_BODY_BYTES
from agora.config import Settings
from agora.db.session import Database
from agora.main import create_app
from agora.users.models import User
from tests.factories import Accounts


async def count_users(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(User))).scalar_one()


async def test_a_huge_body_of_unknown_fields_is_413_and_nothing_is_parsed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The attack of the issue: 100,000 unknown fields used to answer a 9 MB 422."""
    body = {f"field_{index}": index for index in range(100_000)}
    body |= {"email": "ada@example.com", "username": "ada", "password": "long enough pw"}
    response = await client.post("/api/v1/users", json=body)
    assert response.status_code == 413
    assert response.json() == {
        "detail": "The request body is too large.",
        "code": "payload_too_large",
    }
    assert await count_users(session) == 0


async def test_routes_that_need_more_room_declare_it(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada = await accounts.user()
    content = "x" * 100_000  # the longest post: more than the default cap
    assert len(content) > DEFAULT_MAX_BODY_BYTES
    created = await client.post(
        "/api/v1/posts", json={"title": "Long", "content": content}, headers=ada.headers
    )
    assert created.status_code == 201, created.text
    comment = await client.post(
        f"/api/v1/posts/{created.json()['id']}/comments",
        json={"content": "x" * 10_000, "padding": "y" * 300_000},
        headers=ada.headers,
    )
    assert (comment.status_code, comment.json()["code"]) == (413, "payload_too_large")


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 30_000 + b"]" * 30_000,
        b'{"title": "t", "content": ' + b'{"a": ' * 10_000 + b"1" + b"}" * 10_000 + b"}",
        b'{"title": "t", "content": "c", "tags": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
    ],
    ids=["a bare list", "in a string field", "in a list field"],
)
async def test_absurd_nesting_is_a_4xx(
    client: httpx.AsyncClient, accounts: Accounts, body: bytes
) -> None:
    ada = await accounts.user()
    response = await client.post(
        "/api/v1/posts", content=body, headers={**ada.headers, "content-type": "application/json"}
    )
    assert response.status_code in (400, 422), response.text
    assert response.json()["code"] in ("bad_request", "validation_error")


async def test_a_slow_upload_holds_no_connection(
    settings: Settings, live_database: Database
) -> None:
    """On a pool of one connection, a client sending its body slowly doesn't keep another
    from writing: the body is read before the unit of work opens."""
    one = settings.model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": 0.5}
    )
    async with Database.from_settings(one) as database:
        app = create_app(one, database=database)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agora.test") as client:
            accounts = Accounts(client, database, one)
            slow, quick = await accounts.user("slow"), await accounts.user("quick")
            halfway, finish = asyncio.Event(), asyncio.Event()

            async def trickle() -> AsyncIterator[bytes]:
                yield b'{"title": "Slow", '
                halfway.set()
                await finish.wait()
                yield b'"content": "at last"}'

            upload = asyncio.create_task(
                client.post(
                    "/api/v1/posts",
                    content=trickle(),
                    headers={**slow.headers, "content-type": "application/json"},
                )
            )
            await halfway.wait()
            quick_post = await client.post(
                "/api/v1/posts", json={"title": "Quick", "content": "c"}, headers=quick.headers
            )
            assert quick_post.status_code == 201, quick_post.text
            finish.set()
            assert (await upload).status_code == 201
