"""GET /metrics: what an operator scrapes, in one process and summed over two workers."""

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.multiprocess import MultiProcessCollector
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.config import Settings
from agora.db.session import Database
from tests.agora_server import serving
from tests.databases import empty_all_tables
from tests.factories import Accounts, app_client

USER_ROUTE = "/api/v1/users/{user_id}"


def sample(name: str, **labels: str) -> float:
    """A metric's value in this process now (0 before it was ever counted)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def counted(name: str, **labels: str) -> Callable[[], float]:
    """How much `name` grew since this call."""
    before = sample(name, **labels)
    return lambda: sample(name, **labels) - before


async def test_requests_are_counted_by_route_template_method_and_status(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada = await accounts.user()
    found = counted("agora_http_requests_total", route=USER_ROUTE, method="GET", status="200")
    missing = counted("agora_http_requests_total", route=USER_ROUTE, method="GET", status="404")
    timed = counted("agora_http_request_duration_seconds_count", route=USER_ROUTE, method="GET")
    for _ in range(3):
        assert (await client.get(f"/api/v1/users/{ada.id}", headers=ada.headers)).status_code == 200
    await client.get("/api/v1/users/987654321", headers=ada.headers)
    assert (found(), missing(), timed()) == (3, 1, 4)

    scraped = await client.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    line = f'agora_http_requests_total{{method="GET",route="{USER_ROUTE}",status="200"}}'
    assert line in scraped.text
    assert "agora_http_requests_in_flight" in scraped.text


async def test_a_client_choosing_paths_and_methods_adds_no_label_values(
    client: httpx.AsyncClient,
) -> None:
    other = counted(
        "agora_http_requests_total", route="/api/v1/users/me", method="other", status="405"
    )
    for index in range(5):
        assert (await client.get(f"/api/v1/no-such-thing-{index}")).status_code == 404
    assert (await client.request("BREW", "/api/v1/users/me")).status_code == 405
    text = (await client.get("/metrics")).text
    assert "no-such-thing" not in text
    assert "BREW" not in text
    assert other() == 1


async def test_the_metrics_token_guards_the_scrape(settings: Settings, database: Database) -> None:
    guarded = settings.model_copy(update={"metrics_token": SecretStr("scrape-" + "k" * 40)})
    async with app_client(guarded, database) as client:
        assert (await client.get("/metrics")).status_code == 401
        wrong = {"Authorization": "Bearer scrape-wrong"}
        assert (await client.get("/metrics", headers=wrong)).status_code == 401
        right = {"Authorization": "Bearer scrape-" + "k" * 40}
        answer = await client.get("/metrics", headers=right)
        assert answer.status_code == 200
        assert "agora_http_requests_total" in answer.text


@pytest.mark.dialects("postgresql", "mariadb")
async def test_pools_report_their_size_and_connections_in_use_by_role(
    settings: Settings,
) -> None:
    async with Database.from_settings(settings) as database:
        for role in ("primary", "reader"):
            assert sample("agora_db_pool_size", role=role) == settings.db_pool_size
        waits = counted("agora_db_pool_wait_seconds_count", role="primary")
        async with database.transaction() as session:
            await session.connection()
            assert sample("agora_db_pool_checked_out", role="primary") == 1
        assert sample("agora_db_pool_checked_out", role="primary") == 0
        assert waits() == 1


async def test_business_events_are_counted_once_committed(
    live_accounts: Accounts, live_client: httpx.AsyncClient, live_database: Database
) -> None:
    ada, bob = await live_accounts.user("ada"), await live_accounts.user("bob")
    admin = await live_accounts.admin("root")
    transfers = counted("agora_wallet_transfers_total")
    failed_logins = counted("agora_logins_failed_total")
    replays = counted("agora_idempotent_replays_total")

    deposit = {"user_id": ada.id, "amount_cents": 100}
    assert (
        await live_client.post("/api/v1/wallet/deposits", json=deposit, headers=admin.headers)
    ).status_code == 201
    move = {"to_user_id": bob.id, "amount_cents": 10}
    keyed = {**ada.headers, "Idempotency-Key": "once"}
    for _ in range(2):  # the second is a replay, no new transfer
        sent = await live_client.post("/api/v1/wallet/transfers", json=move, headers=keyed)
        assert sent.status_code == 201
    too_much = {"to_user_id": bob.id, "amount_cents": 10_000}
    refused = await live_client.post("/api/v1/wallet/transfers", json=too_much, headers=ada.headers)
    assert refused.json()["code"] == "insufficient_funds"
    await live_client.post("/api/v1/auth/token", data={"username": "ada", "password": "wrong1"})
    assert (transfers(), replays(), failed_logins()) == (1, 1, 1)


@pytest.mark.server
@pytest.mark.dialects("postgresql")
async def test_two_workers_both_serve_and_scrapes_sum_them(
    settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> None:
    """`agora serve --workers 2`: whichever worker answers a scrape, it counts the
    requests of both; each worker's own files show that both answered requests."""
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"left over from an earlier run")
    requests = 0
    try:
        async with serving(settings, workers=2, PROMETHEUS_MULTIPROC_DIR=str(directory)) as url:
            # A new connection each time, so the kernel spreads them over the workers.
            async def probe() -> None:
                async with httpx.AsyncClient(base_url=url) as client:
                    assert (await client.get("/healthz")).status_code == 200

            for _ in range(20):
                await asyncio.gather(*(probe() for _ in range(10)))
                requests += 10
                if len(workers_that_served(directory)) == 2:
                    break
            assert len(workers_that_served(directory)) == 2
            for _ in range(4):
                async with httpx.AsyncClient(base_url=url) as client:
                    text = (await client.get("/metrics")).text
                line = 'agora_http_requests_total{method="GET",route="/healthz",status="200"}'
                (value,) = (row.split()[-1] for row in text.splitlines() if row.startswith(line))
                # The readiness probes of the start are on another route.
                assert float(value) == requests
    finally:
        await empty_all_tables(engine)


def workers_that_served(directory: Path) -> set[str]:
    """The processes whose own counter file has a /healthz request in it."""
    served = set()
    for path in directory.glob("counter_*.db"):
        for metric in MultiProcessCollector.merge([str(path)], accumulate=False):  # type: ignore[no-untyped-call]
            for found in metric.samples:
                if found.labels.get("route") == "/healthz" and found.value > 0:
                    served.add(path.stem)
    return served
