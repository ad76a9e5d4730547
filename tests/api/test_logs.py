"""The logs an operator reads: JSON lines from a real `agora serve`, each line of a request
under its id, one access line per request, tracebacks kept, and no secret written."""

import asyncio
import io
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.config import Settings
from agora.db.session import Database
from agora.telemetry.logs import ACCESS_LOGGER, ConsoleFormatter, JsonFormatter
from tests.agora_server import serving
from tests.databases import empty_all_tables, free_port
from tests.factories import Accounts, app_client, bearer

SECRET_PASSWORD = "a password that must never be logged"
NEW_PASSWORD = "another password never to be logged"


def json_lines(log: str) -> list[dict[str, Any]]:
    """Every line of `log` as the JSON object it must be."""
    return [json.loads(line) for line in log.splitlines() if line.strip()]


def access_lines(lines: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
    return [
        line
        for line in lines
        if line["logger"] == ACCESS_LOGGER and line.get("request_id") == request_id
    ]


@pytest.mark.server
async def test_a_real_server_writes_json_lines_with_ids_and_no_secrets(
    settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> None:
    log_file = tmp_path / "agora.log"
    try:
        async with (
            serving(settings, log_file=log_file, AGORA_LOG_FORMAT="json") as url,
            httpx.AsyncClient(base_url=url) as client,
        ):
            accounts = Accounts(client, None, settings)
            account = await accounts.user("logged", password=SECRET_PASSWORD)
            tokens = await accounts.grant("logged", SECRET_PASSWORD)
            read = await client.get(
                f"/api/v1/users/{account.id}",
                headers={**account.headers, "X-Request-ID": "read-1"},
            )
            refreshed = await client.post(
                "/api/v1/auth/token",
                data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                headers={"X-Request-ID": "refresh-1"},
            )
            changed = await client.patch(
                f"/api/v1/users/{account.id}",
                json={"password": NEW_PASSWORD, "current_password": SECRET_PASSWORD},
                headers={**bearer(refreshed.json()["access_token"])},
            )
            wrong = await client.post(
                "/api/v1/auth/token", data={"username": "logged", "password": SECRET_PASSWORD}
            )
    finally:
        await empty_all_tables(engine)
    assert (read.status_code, refreshed.status_code, changed.status_code) == (200, 200, 200)
    assert wrong.status_code == 401
    assert read.headers["x-request-id"] == "read-1"

    log = log_file.read_text()
    lines = json_lines(log)
    assert any(line["logger"].startswith("uvicorn") for line in lines), "uvicorn's own lines"
    (read_line,) = access_lines(lines, "read-1")
    assert read_line["route"] == "/api/v1/users/{user_id}"
    assert (read_line["method"], read_line["status"]) == ("GET", 200)
    assert read_line["user_id"] == account.id
    assert read_line["statements"] >= 2  # the caller's session and account, then the user
    assert read_line["duration_ms"] > 0
    (change_line,) = access_lines(lines, changed.headers["x-request-id"])
    assert (change_line["route"], change_line["status"]) == ("/api/v1/users/{user_id}", 200)
    (wrong_line,) = access_lines(lines, wrong.headers["x-request-id"])
    assert (wrong_line["route"], wrong_line["status"]) == ("/api/v1/auth/token", 401)

    secrets = [
        SECRET_PASSWORD,
        NEW_PASSWORD,
        tokens["access_token"],
        tokens["refresh_token"],
        refreshed.json()["refresh_token"],
        account.headers["Authorization"].removeprefix("Bearer "),
        account.email,
        settings.signing_secret(),
        "$argon2",
    ]
    for secret in secrets:
        assert secret not in log


# A real uvicorn serving the app with one route that fails, logging as `agora serve` does.
FAILING_SERVER = """
import sys
import uvicorn
from agora.config import Settings
from agora.main import create_app
from agora.telemetry.logs import logging_config

app = create_app(Settings(database_url=sys.argv[1], jwt_secret=sys.argv[2]))

@app.get("/failing")
async def failing() -> None:
    raise RuntimeError("this route fails for the test")

uvicorn.run(app, port=int(sys.argv[3]), access_log=False, log_config=logging_config("json", "INFO"))
"""


@pytest.mark.server
@pytest.mark.dialects("sqlite")
async def test_an_unhandled_error_logs_its_traceback_under_the_request_id(
    settings: Settings,
) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        FAILING_SERVER,
        settings.database_url,
        settings.signing_secret(),
        str(port),
        env=os.environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(300):
                try:
                    await client.get("/healthz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            failed = await client.get("/failing", headers={"X-Request-ID": "failing-1"})
    finally:
        process.terminate()
        out, _ = await process.communicate()
    assert failed.status_code == 500
    assert failed.json()["code"] == "internal_error"
    assert failed.headers["x-request-id"] == "failing-1"
    assert "this route fails" not in failed.text

    lines = json_lines(out.decode())
    (error,) = [line for line in lines if "error" in line]
    assert error["request_id"] == "failing-1"
    assert error["level"] == "error"
    assert error["error"].startswith("Traceback")
    assert "RuntimeError: this route fails for the test" in error["error"]
    (access,) = access_lines(lines, "failing-1")
    assert (access["route"], access["status"]) == ("/failing", 500)


@pytest.fixture
def access_log() -> Iterator[io.StringIO]:
    """The access lines written while the test runs, as JSON lines."""
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield written
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("3f2c7a9e-5b1d-4c8e-9a6f-0d2b4e6c8a1f", True),
        ("Root=1-67891233-abcdef012345678912345678", True),
        ("has spaces and <html>", False),
        ("x" * 129, False),
        ("", False),
    ],
)
@pytest.mark.dialects("sqlite")
async def test_a_sane_request_id_is_kept_and_any_other_replaced(
    settings: Settings, database: Database, access_log: io.StringIO, sent: str, kept: bool
) -> None:
    async with app_client(settings, database) as client:
        answered = await client.get("/healthz", headers={"X-Request-ID": sent})
        unknown = await client.get("/no/such/path", headers={"X-Request-ID": sent})
    for response in (answered, unknown):
        request_id = response.headers["x-request-id"]
        if kept:
            assert request_id == sent
        else:
            assert request_id != sent
            assert len(request_id) == 32
    lines = json_lines(access_log.getvalue())
    assert [(line["route"], line["status"]) for line in lines] == [
        ("/healthz", 200),
        (None, 404),  # an unmatched path is not logged as the client wrote it
    ]
    assert [line["request_id"] for line in lines] == [
        answered.headers["x-request-id"],
        unknown.headers["x-request-id"],
    ]


@pytest.mark.dialects("sqlite")
async def test_a_refused_host_is_logged_and_answered_with_a_request_id(
    settings: Settings, database: Database, access_log: io.StringIO
) -> None:
    async with app_client(settings, database) as client:
        refused = await client.get("/api/v1/posts", headers={"Host": "evil.example"})
    assert refused.status_code == 400
    (line,) = json_lines(access_log.getvalue())
    assert (line["route"], line["status"]) == (None, 400)
    assert line["request_id"] == refused.headers["x-request-id"]


async def test_the_console_format_says_the_same_on_one_line(
    settings: Settings, database: Database
) -> None:
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(ConsoleFormatter())
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        async with app_client(settings, database) as client:
            account = await Accounts(client, None, settings).user()
            read = await client.get(
                f"/api/v1/users/{account.id}",
                headers={**account.headers, "X-Request-ID": "console-1"},
            )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    assert read.status_code == 200
    (line,) = [line for line in written.getvalue().splitlines() if "[console-1]" in line]
    assert "agora.access [console-1] GET /api/v1/users/{user_id} 200 duration_ms=" in line
    assert f"user_id={account.id} statements=" in line
