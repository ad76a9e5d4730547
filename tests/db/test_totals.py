"""Totals of long lists: exact up to EXACT_TOTAL_LIMIT, the planner's estimate past it."""

from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from agora.db.bulk import bulk_insert
from agora.db.totals import EXACT_TOTAL_LIMIT, counted_rows_of
from agora.users.models import User
from tests.factories import Accounts


async def add_users(connection: AsyncConnection, count: int) -> None:
    now = datetime.now(UTC)
    rows = [
        {
            "email": f"bulk{i}@example.com",
            "username": f"bulk{i}",
            "hashed_password": "x",
            "is_active": True,
            "is_superuser": False,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    await bulk_insert(connection, User.__table__, rows)


async def test_a_long_list_has_an_estimated_total_where_a_planner_estimates(
    client: httpx.AsyncClient, accounts: Accounts, connection: AsyncConnection, dialect: str
) -> None:
    ada = await accounts.user("ada")
    await add_users(connection, EXACT_TOTAL_LIMIT + 50)
    page = (await client.get("/api/v1/users", params={"limit": 5}, headers=ada.headers)).json()
    assert len(page["items"]) == 5
    if dialect == "sqlite":  # no planner estimate: "more than 10,000"
        assert page["total"] == EXACT_TOTAL_LIMIT + 1
        assert page["total_is_estimate"] is True
    else:
        assert page["total_is_estimate"] is True
        assert page["total"] > EXACT_TOTAL_LIMIT


async def test_a_list_up_to_the_limit_is_counted_exactly(
    client: httpx.AsyncClient, accounts: Accounts, connection: AsyncConnection
) -> None:
    ada = await accounts.user("ada")
    await add_users(connection, EXACT_TOTAL_LIMIT - 1)
    page = (await client.get("/api/v1/users", params={"limit": 5}, headers=ada.headers)).json()
    assert page["total"] == EXACT_TOTAL_LIMIT
    assert "total_is_estimate" not in page


def test_a_parallel_plan_is_estimated_for_all_its_processes() -> None:
    """The shape of PostgreSQL 15's plan for a count over 300,000 posts: the scan's rows
    are per process (two workers and the leader's share)."""
    scan = {"Node Type": "Seq Scan", "Parallel Aware": True, "Plan Rows": 112_612}
    partial = {"Node Type": "Aggregate", "Partial Mode": "Partial", "Plans": [scan]}
    gather = {"Node Type": "Gather", "Workers Planned": 2, "Plans": [partial]}
    plan = {"Node Type": "Aggregate", "Partial Mode": "Finalize", "Plans": [gather]}
    assert counted_rows_of(plan) == 270_268
    assert (
        counted_rows_of(
            {"Node Type": "Aggregate", "Plans": [{"Node Type": "Seq Scan", "Plan Rows": 42}]}
        )
        == 42
    )
