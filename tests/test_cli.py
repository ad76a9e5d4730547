"""The agora command, run as a user runs it (in a thread: it starts its own event loop)."""

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from agora.cli import app
from agora.config import Settings, get_settings
from agora.db.migrations import head_revision
from agora.db.session import Database
from agora.users.models import User
from tests.conftest import PASSWORD, Accounts


@pytest.fixture
def cli_environment(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AGORA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("AGORA_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("AGORA_ARGON2_MEMORY_COST_KIB", "8")
    monkeypatch.setenv("AGORA_ARGON2_PARALLELISM", "1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def agora(*args: str, input: str | None = None) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), input=input)


@pytest.mark.usefixtures("cli_environment")
async def test_create_superuser_with_options(
    live_client: httpx.AsyncClient, live_database: Database, settings: Settings
) -> None:
    result = await agora(
        "users",
        "create-superuser",
        "--email",
        "Root@Example.com",
        "--username",
        "root",
        "--password",
        PASSWORD,
    )
    assert result.exit_code == 0, result.output
    assert "created superuser root" in result.output
    headers = await Accounts(live_client, live_database, settings).login("root@example.com")
    me = (await live_client.get("/api/v1/users/me", headers=headers)).json()
    assert (me["username"], me["is_superuser"]) == ("root", True)


@pytest.mark.usefixtures("cli_environment")
async def test_create_superuser_prompts_for_what_is_missing(live_database: Database) -> None:
    result = await agora(
        "users", "create-superuser", input=f"admin@example.com\nadmin\n{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    async with live_database.transaction(read_only=True) as session:
        admin = (await session.execute(select(User).where(User.username == "admin"))).scalar_one()
    assert admin.is_superuser
    assert PASSWORD not in admin.hashed_password


@pytest.mark.usefixtures("cli_environment")
async def test_create_superuser_reports_bad_input_and_conflicts(live_database: Database) -> None:
    invalid = await agora(
        "users", "create-superuser", "--email", "nope", "--username", "root", "--password", "x"
    )
    assert invalid.exit_code == 1
    assert "email" in invalid.output
    assert "password" in invalid.output

    args = ["users", "create-superuser", "--email", "root@example.com", "--password", PASSWORD]
    assert (await agora(*args, "--username", "root")).exit_code == 0
    taken = await agora(*args, "--username", "root2")
    assert taken.exit_code == 1
    assert "already registered" in taken.output


@pytest.mark.usefixtures("cli_environment")
async def test_db_current_reports_the_revision() -> None:
    result = await agora("db", "current")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{head_revision()} (latest)"


async def test_serve_refuses_production_with_the_default_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGORA_ENVIRONMENT", "production")
    get_settings.cache_clear()
    try:
        result = await agora("serve")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "refusing to start" in result.output


@pytest.mark.usefixtures("cli_environment")
async def test_old_idempotency_keys_can_be_purged(
    live_client: httpx.AsyncClient, live_database: Database, settings: Settings
) -> None:
    accounts = Accounts(live_client, live_database, settings)
    ada, bob = await accounts.user("ada"), await accounts.user("bob")
    headers = {**ada.headers, "Idempotency-Key": "old"}
    body = {"to_user_id": bob.id, "amount_cents": 5}
    first = await live_client.post("/api/v1/wallet/transfers", json=body, headers=headers)
    assert first.json()["code"] == "insufficient_funds"

    kept = await agora("idempotency", "purge", "--older-than-hours", "1")
    assert (kept.exit_code, kept.output.strip()) == (0, "purged 0 idempotency keys")
    replayed = await live_client.post("/api/v1/wallet/transfers", json=body, headers=headers)
    assert replayed.headers.get("idempotent-replayed") == "true"

    purged = await agora("idempotency", "purge", "--older-than-hours", "0")
    assert (purged.exit_code, purged.output.strip()) == (0, "purged 1 idempotency keys")
    fresh = await live_client.post("/api/v1/wallet/transfers", json=body, headers=headers)
    assert "idempotent-replayed" not in fresh.headers
