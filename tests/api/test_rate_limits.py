"""Rate limits: failed logins, registrations and writes get 429 `rate_limited`."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import coredis
import httpx
import pytest

from agora.config import Settings
from agora.db.session import Database
from tests.agora_server import serving
from tests.factories import PASSWORD, Accounts, app_client

TOKEN = "/api/v1/auth/token"


async def limited_client(
    settings: Settings, database: Database, **limits: Any
) -> AsyncIterator[httpx.AsyncClient]:
    limited = settings.model_copy(update={"rate_limits_enabled": True, **limits})
    async with app_client(limited, database) as client:
        yield client


@pytest.fixture
async def strict(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    async for client in limited_client(
        settings,
        database,
        rate_limit_failed_logins_per_login="3/minute",
        rate_limit_failed_logins_per_address="5/minute",
        rate_limit_registrations_per_address="4/hour",
        rate_limit_writes_per_user="3/minute",
        trusted_proxies=["127.0.0.1/32"],
    ):
        yield client


def login(client: httpx.AsyncClient, name: str, password: str, **headers: str) -> Any:
    return client.post(TOKEN, data={"username": name, "password": password}, headers=headers)


def assert_rate_limited(response: httpx.Response, *, window: int = 60) -> None:
    """429 `rate_limited`, to be retried once the oldest counted request leaves the window."""
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "rate_limited"
    assert window - 5 <= int(response.headers["retry-after"]) <= window


async def test_a_login_that_failed_too_often_is_refused_even_with_its_password(
    strict: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    ada = await Accounts(strict, database, settings).user("ada")
    for _ in range(3):
        assert (await login(strict, "ada", "wrong password")).status_code == 401
    assert_rate_limited(await login(strict, "ADA", PASSWORD))  # as typed, any case
    # Other accounts from the same address still sign in.
    bob = await Accounts(strict, database, settings).user("bob")
    assert (await login(strict, bob.username, PASSWORD)).status_code == 200
    assert ada.id != bob.id


async def test_failures_from_one_address_are_limited_across_logins(
    strict: httpx.AsyncClient,
) -> None:
    for number in range(5):
        assert (await login(strict, f"nobody{number}", "wrong")).status_code == 401
    assert_rate_limited(await login(strict, "someone-else", "wrong"))


async def test_the_address_comes_from_a_trusted_proxy_only(
    settings: Settings, database: Database, strict: httpx.AsyncClient
) -> None:
    """Behind the trusted proxy (127.0.0.1 here), each forwarded client has its own
    count; without a trusted proxy, the header is ignored and forging it buys nothing."""
    for number in range(5):
        answer = await login(strict, f"n{number}", "wrong", **{"X-Forwarded-For": "203.0.113.7"})
        assert answer.status_code == 401
    blocked = await login(strict, "x", "wrong", **{"X-Forwarded-For": "203.0.113.7"})
    assert_rate_limited(blocked)
    forged_left = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}  # the proxy's hop wins
    assert_rate_limited(await login(strict, "y", "wrong", **forged_left))
    other = await login(strict, "x", "wrong", **{"X-Forwarded-For": "198.51.100.9"})
    assert other.status_code == 401

    async for untrusting in limited_client(
        settings, database, rate_limit_failed_logins_per_address="5/minute"
    ):
        for number in range(5):
            spoofed = {"X-Forwarded-For": f"192.0.2.{number}"}
            assert (await login(untrusting, f"m{number}", "wrong", **spoofed)).status_code == 401
        assert_rate_limited(
            await login(untrusting, "m9", "wrong", **{"X-Forwarded-For": "192.0.2.99"})
        )


async def test_registrations_per_address(strict: httpx.AsyncClient) -> None:
    for number in range(4):
        body = {"email": f"r{number}@example.com", "username": f"reg{number}", "password": PASSWORD}
        assert (await strict.post("/api/v1/users", json=body)).status_code == 201
    body = {"email": "r9@example.com", "username": "reg9", "password": PASSWORD}
    assert_rate_limited(await strict.post("/api/v1/users", json=body), window=3600)


async def test_writes_per_user(
    strict: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    accounts = Accounts(strict, database, settings)
    ada, bob = await accounts.user("ada"), await accounts.user("bob")

    def post(author: Any) -> Any:
        return strict.post(
            "/api/v1/posts", json={"title": "t", "content": "c"}, headers=author.headers
        )

    for _ in range(3):
        assert (await post(ada)).status_code == 201
    assert_rate_limited(await post(ada))
    assert (await strict.get("/api/v1/users/me", headers=ada.headers)).status_code == 200
    assert (await post(bob)).status_code == 201


@pytest.mark.server
@pytest.mark.dialects("sqlite")
async def test_two_workers_share_their_counters_in_redis(settings: Settings) -> None:
    """`agora serve --workers 2` with AGORA_REDIS_URL: five failed logins in all, over
    new connections that either worker may take, and the sixth is refused."""
    prefix = f"agora-test-{uuid.uuid4().hex}"
    redis = coredis.Redis.from_url("redis://127.0.0.1:6379/0")
    async with serving(
        settings,
        workers=2,
        AGORA_REDIS_URL="redis://127.0.0.1:6379/0",
        AGORA_RATE_LIMIT_KEY_PREFIX=prefix,
        AGORA_RATE_LIMIT_FAILED_LOGINS_PER_LOGIN="5/minute",
    ) as base_url:
        statuses = []
        for _ in range(6):
            async with httpx.AsyncClient(base_url=base_url) as client:  # a new connection
                statuses.append((await login(client, "victim", "wrong")).status_code)
        async with httpx.AsyncClient(base_url=base_url) as client:
            refused = await login(client, "victim", "wrong")
    assert statuses == [401] * 5 + [429]
    assert_rate_limited(refused)
    keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
    try:
        per_login = [key for key in keys if b"victim" in key]
        assert len(per_login) == 1, keys
        # Every failure, whichever worker saw it, is in the one shared window.
        assert await redis.llen(per_login[0]) == 5
    finally:
        await redis.delete(keys)
