"""The schema tells the truth: schemathesis against `agora serve`, on a fast and
deterministic profile (a fixed derandomized run, SQLite, a few hundred cases, as a
signed-in user): no server error, no undocumented status, no body or content type that
the schema does not describe. `make fuzz` runs a deep one."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agora.config import Settings
from agora.db import migrations
from agora.db.engine import run_on_connection
from agora.main import create_app
from tests.agora_server import serving
from tests.databases import make_settings
from tests.factories import PASSWORD

pytestmark = [pytest.mark.server]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
CASES_PER_OPERATION = 12


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A server on a SQLite database of its own, and a signed-in user's token."""
    path = Path(tmp_path_factory.mktemp("schema")) / "agora.db"
    server_settings: Settings = make_settings(f"sqlite+aiosqlite:///{path}")

    async def start() -> tuple[str, str, AsyncIterator[str]]:
        await run_on_connection(server_settings.database_url, server_settings, migrations.upgrade)
        served = serving(server_settings, AGORA_RATE_LIMITS_ENABLED="false")
        base_url = await served.__aenter__()
        async with httpx.AsyncClient(base_url=base_url) as client:
            body = {"email": "fuzz@example.com", "username": "fuzz", "password": PASSWORD}
            assert (await client.post("/api/v1/users", json=body)).status_code == 201
            token = await client.post(
                "/api/v1/auth/token", data={"username": "fuzz", "password": PASSWORD}
            )
        return base_url, token.json()["access_token"], served  # type: ignore[return-value]

    loop = asyncio.new_event_loop()
    base_url, token, served = loop.run_until_complete(start())
    try:
        yield base_url, token
    finally:
        loop.run_until_complete(served.__aexit__(None, None, None))  # type: ignore[attr-defined]
        loop.close()


# The schema the server serves, built from the same app without starting it.
schema = schemathesis.openapi.from_dict(
    create_app(make_settings("sqlite+aiosqlite:///:memory:")).openapi()
)


@schema.parametrize()
@settings(
    max_examples=CASES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_is_documented(
    case: schemathesis.Case, fuzzed_server: tuple[str, str]
) -> None:
    base_url, token = fuzzed_server
    case.call_and_validate(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS
    )
