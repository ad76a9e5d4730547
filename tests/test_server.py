"""Against a real uvicorn server: the commit is done before the client hears back.

The in-process ASGI transport cannot show this: there the response is only returned
after the whole app, including any post-response cleanup, has run. Over a socket, a
commit made after the response leaves a window in which the client's next request
does not see its own write.
"""

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.config import Settings
from tests.agora_server import serving
from tests.databases import empty_all_tables
from tests.factories import PASSWORD

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
async def server(settings: Settings, engine: AsyncEngine) -> AsyncIterator[str]:
    """`agora serve`, as the README runs it, on this worker's database (emptied after)."""
    try:
        async with serving(
            settings, AGORA_RATE_LIMIT_REGISTRATIONS_PER_ADDRESS="1000/hour"
        ) as base_url:
            yield base_url
    finally:
        await empty_all_tables(engine)


async def test_every_write_is_visible_to_the_very_next_request(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        for index in range(20):
            created = await client.post(
                "/api/v1/users",
                json={
                    "email": f"u{index}@example.com",
                    "username": f"user{index}",
                    "password": PASSWORD,
                },
            )
            assert created.status_code == 201
            token = await client.post(
                "/api/v1/auth/token", data={"username": f"user{index}", "password": PASSWORD}
            )
            assert token.status_code == 200, f"registration {index} not committed yet"
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            renamed = await client.patch(
                f"/api/v1/users/{created.json()['id']}",
                json={"full_name": f"n{index}"},
                headers=headers,
            )
            assert renamed.status_code == 200
            seen = await client.get(f"/api/v1/users/{created.json()['id']}", headers=headers)
            assert seen.json()["full_name"] == f"n{index}"


async def test_docs_and_schema_are_served(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        assert (await client.get("/docs")).status_code == 200
        schema = (await client.get("/openapi.json")).json()
    assert "/api/v1/users/{user_id}" in schema["paths"]


async def test_the_server_does_not_say_what_it_is(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        response = await client.get("/healthz")
    assert "server" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
