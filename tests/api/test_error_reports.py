"""Error reports with Sentry: an unhandled error reaches the (recording) transport with
the request's id and route and nothing personal; a 4xx and a chosen 503 do not."""

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, quote

import httpx
import pytest
import sentry_sdk
from fastapi import FastAPI, Request
from pydantic import SecretStr
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from agora.config import Settings
from agora.db.errors import DatabaseUnavailable
from agora.db.session import Database
from agora.main import create_app

pytestmark = pytest.mark.dialects("sqlite")

# Never reached: the transport is replaced before anything is sent.
DSN = "https://public@sentry.invalid/1"
EMAIL = "alice@example.com"
PASSWORD = "the password in the body"
TOKEN = "the-bearer-token-of-the-caller"
COOKIE = "the-cookie-of-the-caller"
LOCAL = "a value only a local variable holds"


class RecordingTransport(Transport):
    """Keeps each event instead of sending it."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        event = envelope.get_event()
        if event is not None:
            self.events.append(dict(event))


@pytest.fixture
def transport() -> Iterator[RecordingTransport]:
    recording = RecordingTransport()
    yield recording
    sentry_sdk.init(dsn=None)  # reports off again for the tests that follow


def failing_app(settings: Settings, database: Database, transport: Transport) -> FastAPI:
    """The app, reporting to `transport`, with two routes no real one resembles: one that
    fails, one that answers a 503 by design."""
    app = create_app(settings, database=database)
    client = sentry_sdk.get_client()
    assert client.is_active(), "create_app started the reports"
    assert client.transport is not None
    client.transport.kill()
    client.transport = transport

    @app.post("/failing/{thing}")
    async def failing(thing: str, request: Request) -> None:
        body = await request.json()
        note = LOCAL
        raise RuntimeError(f"{thing} failed, {len(body)} fields, {len(note)}")

    @app.get("/unavailable")
    async def unavailable() -> None:
        raise DatabaseUnavailable

    return app


@pytest.fixture
async def client_of(
    settings: Settings, database: Database, transport: RecordingTransport
) -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    def make(**settings_changes: Any) -> httpx.AsyncClient:
        reporting = settings.model_copy(update={"sentry_dsn": SecretStr(DSN), **settings_changes})
        app = failing_app(reporting, database, transport)
        asgi = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        made = httpx.AsyncClient(transport=asgi, base_url="http://agora.test")
        clients.append(made)
        return made

    yield make
    for made in clients:
        await made.aclose()


async def fail(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post(
        f"/failing/thing?email={EMAIL}",
        json={"email": EMAIL, "password": PASSWORD},
        headers={"Authorization": f"Bearer {TOKEN}", "Cookie": f"theme={COOKIE}"},
    )


async def test_an_unhandled_error_is_reported_under_its_request_id_and_route(
    client_of: Any, transport: RecordingTransport
) -> None:
    failed = await fail(client_of())
    assert failed.status_code == 500

    (event,) = transport.events
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == f"thing failed, 2 fields, {len(LOCAL)}"
    assert event["tags"]["request_id"] == failed.headers["x-request-id"]
    assert event["tags"]["route"] == "/failing/{thing}"
    assert event["environment"] == "development"
    assert event["release"].startswith("agora@")

    reported = json.dumps(event)
    for personal in (EMAIL, quote(EMAIL), PASSWORD, TOKEN, COOKIE, LOCAL):
        assert personal not in reported


async def test_client_errors_and_chosen_503s_are_not_reported(
    client_of: Any, transport: RecordingTransport
) -> None:
    client = client_of()
    answers = [
        await client.get("/api/v1/users/me"),
        await client.get("/api/v1/posts/999999"),
        await client.post("/api/v1/users", json={"username": "x"}),
        await client.get("/unavailable"),
    ]
    assert [answer.status_code for answer in answers] == [401, 404, 422, 503]
    assert transport.events == []


async def test_personal_data_is_reported_only_when_a_setting_says_so(
    client_of: Any, transport: RecordingTransport
) -> None:
    failed = await fail(
        client_of(sentry_send_pii=True, sentry_environment="staging", sentry_release="agora@test")
    )
    assert failed.status_code == 500
    (event,) = transport.events
    assert (event["environment"], event["release"]) == ("staging", "agora@test")
    reported = json.dumps(event)
    assert COOKIE in reported
    assert parse_qs(event["request"]["query_string"]) == {"email": [EMAIL]}
    # Secrets, and local variables that may hold them, are never reported.
    for secret in (TOKEN, PASSWORD, LOCAL):
        assert secret not in reported
