"""The agora command, run as a user runs it (in a thread: it starts its own event loop)."""

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from typer.testing import CliRunner, Result

from agora.admin.seed import DEMO_PASSWORD
from agora.cli import app
from agora.config import Settings, get_settings
from agora.db.base import Base
from agora.db.migrations import head_revision
from agora.db.session import Database
from agora.db.types import utc_now
from agora.posts.models import Post
from agora.shop.models import Order
from agora.users.models import RefreshToken, User
from agora.users.sessions import hash_refresh_token
from tests.databases import empty_all_tables
from tests.factories import PASSWORD, Accounts, bearer
from tests.money import assert_money_invariants


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
    live_accounts: Accounts, live_client: httpx.AsyncClient
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
    headers = await live_accounts.login("root@example.com")
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
    live_accounts: Accounts, live_client: httpx.AsyncClient
) -> None:
    ada, bob = await live_accounts.user("ada"), await live_accounts.user("bob")
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


@pytest.mark.usefixtures("cli_environment")
async def test_ended_sessions_and_expired_used_tokens_can_be_purged(
    live_accounts: Accounts, live_client: httpx.AsyncClient, live_database: Database
) -> None:
    ada = await live_accounts.user("ada")
    left = await live_accounts.grant("ada")
    await live_client.post("/api/v1/auth/logout", headers=bearer(left["access_token"]))
    first = await live_accounts.grant("ada")
    refreshed = await live_client.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    rotated = refreshed.json()
    old = await live_accounts.grant("ada")
    old_refreshed = await live_client.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": old["refresh_token"]},
    )
    assert old_refreshed.status_code == 200
    async with live_database.transaction() as session:
        # A used-up token issued longer ago than a refresh token lives: expired anyway.
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == hash_refresh_token(old["refresh_token"]))
            .values(issued_at=utc_now() - timedelta(days=31))
        )

    kept = await agora("sessions", "purge", "--older-than-hours", "1")
    assert (kept.exit_code, kept.output.strip()) == (0, "purged 0 sessions")
    purged = await agora("sessions", "purge")
    assert (purged.exit_code, purged.output.strip()) == (0, "purged 1 sessions")

    counts = await table_counts(live_database)
    # ada's three live sessions; their live tokens and one used-up token still in reach.
    assert (counts["user_sessions"], counts["refresh_tokens"]) == (3, 4)
    assert (await live_client.get("/api/v1/users/me", headers=ada.headers)).status_code == 200
    # Reuse of the token still kept ends its session; the purged one is merely unknown.
    reused = await live_client.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert reused.json()["code"] == "invalid_grant"
    assert (
        await live_client.get("/api/v1/users/me", headers=bearer(rotated["access_token"]))
    ).status_code == 401
    forgotten = await live_client.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": old["refresh_token"]},
    )
    assert forgotten.json()["code"] == "invalid_grant"
    still = bearer(old_refreshed.json()["access_token"])
    assert (await live_client.get("/api/v1/users/me", headers=still)).status_code == 200


async def table_counts(database: Database) -> dict[str, int]:
    async with database.transaction(read_only=True) as session:
        return {
            table.name: (
                await session.execute(select(func.count()).select_from(table))
            ).scalar_one()
            for table in Base.metadata.sorted_tables
        }


SEED_COMMAND = (
    "db", "seed", "--users", "12", "--posts", "30", "--messages", "1200", "--products", "8",
    "--orders", "15", "--seed", "7",
)  # fmt: skip


@pytest.mark.usefixtures("cli_environment")
async def test_seed_fills_every_feature_and_the_books_balance(
    live_client: httpx.AsyncClient, live_database: Database, engine: AsyncEngine
) -> None:
    result = await agora(*SEED_COMMAND)
    assert result.exit_code == 0, result.output
    counts = await table_counts(live_database)
    assert (counts["users"], counts["posts"], counts["messages"], counts["products"]) == (
        12,
        30,
        1200,
        8,
    )
    assert counts["conversations"] == 3  # 500 messages each, the rest in a third
    assert counts["comments"] > 0
    assert counts["post_tags"] > 0
    assert counts["orders"] == 15  # refused orders (stock, money) are drawn again
    assert "seeded 12 users, 30 posts, 1200 messages, 8 products and 15 orders" in result.output
    await assert_money_invariants(live_database)
    token = await live_client.post(
        "/api/v1/auth/token", data={"username": "s7_1", "password": DEMO_PASSWORD}
    )
    assert token.status_code == 200

    async def content(session: AsyncSession) -> list[object]:
        names = await session.execute(select(User.full_name).order_by(User.id))
        titles = await session.execute(select(Post.title).order_by(Post.id))
        orders = await session.execute(
            select(Order.user_id, Order.total_cents).order_by(Order.user_id, Order.order_number)
        )
        return [*names.scalars(), *titles.scalars(), *map(tuple, orders)]

    first = await live_database.run_in_transaction(content, read_only=True)
    await empty_all_tables(engine)
    again = await agora(*SEED_COMMAND)
    assert again.exit_code == 0, again.output
    assert await live_database.run_in_transaction(content, read_only=True) == first


@pytest.mark.usefixtures("cli_environment")
async def test_seed_says_how_many_orders_the_shop_accepted(live_database: Database) -> None:
    # One buyer, whose deposit covers a few orders at most: the rest are refused.
    result = await agora(
        "db", "seed", "--users", "1", "--posts", "0", "--messages", "0", "--products", "3",
        "--orders", "200",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    placed = (await table_counts(live_database))["orders"]
    assert 0 < placed < 200
    assert f"and {placed} orders" in result.output
    assert f"only {placed} of 200 orders" in result.output
    await assert_money_invariants(live_database)


@pytest.mark.usefixtures("cli_environment")
async def test_import_and_export_from_the_command_line(
    live_database: Database, tmp_path: Path
) -> None:
    good = tmp_path / "products.csv"
    good.write_text("name,price_cents,stock\nLamp,1500,4\nChair,7000,1\n")
    imported = await agora("db", "import", "products", str(good))
    assert (imported.exit_code, imported.output.strip().splitlines()[-1]) == (
        0,
        "imported 2 rows into products",
    )
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"name": "x", "stock": 1}\nnope\n')
    refused = await agora("db", "import", "products", str(bad))
    assert refused.exit_code == 1
    assert "line 1: price_cents is required" in refused.output
    assert "line 2: not valid JSON" in refused.output
    assert "nothing imported: 2 problem(s)" in refused.output
    unknown = await agora("db", "import", "wallets", str(good))
    assert unknown.exit_code == 2

    output = tmp_path / "out.csv"
    exported = await agora("db", "export", "products", "--format", "csv", "--output", str(output))
    assert exported.exit_code == 0, exported.output
    lines = output.read_text().splitlines()
    assert lines[0].startswith("id,name,description,price_cents,stock,is_active")
    assert [line.split(",")[1] for line in lines[1:]] == ["Lamp", "Chair"]
    to_stdout = await agora("db", "export", "users")
    assert to_stdout.exit_code == 0
    assert "hashed_password" not in to_stdout.output


@pytest.mark.dialects("postgresql", "mariadb")
async def test_serve_refuses_workers_whose_pools_do_not_fit_the_server(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four workers with the default pools need 176 connections: more than PostgreSQL's
    default 100 and MariaDB's 151 allow. Said before anything is served, with the fix."""
    monkeypatch.setenv("AGORA_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        result = await agora("serve", "--workers", "4")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "refusing to start: 4 workers need up to 176 connections" in result.output
    assert "Lower the pools or the workers" in result.output
