"""GET /api/v1/users/me, /users/{id} and the /users list."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from agora.db.session import Database
from agora.users.models import User
from tests.databases import CountStatements
from tests.factories import Accounts

PUBLIC_FIELDS = {"id", "username", "full_name", "created_at"}
PRIVATE_FIELDS = PUBLIC_FIELDS | {"email", "is_active", "is_superuser", "updated_at"}


async def test_me_is_the_private_view(client: httpx.AsyncClient, accounts: Accounts) -> None:
    ada = await accounts.user("ada")
    response = await client.get("/api/v1/users/me", headers=ada.headers)
    assert response.status_code == 200
    assert set(response.json()) == PRIVATE_FIELDS
    assert response.json()["email"] == "ada@example.com"


async def test_a_user_reads_itself_privately_and_others_publicly(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada, bob = await accounts.user("ada"), await accounts.user("bob")
    own = await client.get(f"/api/v1/users/{ada.id}", headers=ada.headers)
    assert set(own.json()) == PRIVATE_FIELDS
    other = await client.get(f"/api/v1/users/{bob.id}", headers=ada.headers)
    assert other.status_code == 200
    assert set(other.json()) == PUBLIC_FIELDS
    assert "bob@example.com" not in other.text


async def test_admins_read_everyone_privately(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    admin, bob = await accounts.admin(), await accounts.user("bob")
    response = await client.get(f"/api/v1/users/{bob.id}", headers=admin.headers)
    assert set(response.json()) == PRIVATE_FIELDS
    assert response.json()["email"] == "bob@example.com"


async def test_missing_and_deleted_users_are_404(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    ada, gone = await accounts.user(), await accounts.user()
    await client.delete(f"/api/v1/users/{gone.id}", headers=gone.headers)
    for user_id in (gone.id, 987654321):
        response = await client.get(f"/api/v1/users/{user_id}", headers=ada.headers)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("user_id", ["0", "-1", "abc", "1.5", str(2**63), "9" * 40])
async def test_invalid_ids_are_422(
    client: httpx.AsyncClient, accounts: Accounts, user_id: str
) -> None:
    ada = await accounts.user()
    response = await client.get(f"/api/v1/users/{user_id}", headers=ada.headers)
    assert response.status_code == 422


async def test_the_list_requires_authentication(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/users")).status_code == 401


async def test_the_list_is_oldest_first_paginated_and_skips_deleted_users(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    users = [await accounts.user(f"member{index}") for index in range(5)]
    await client.delete(f"/api/v1/users/{users[2].id}", headers=users[2].headers)
    viewer = users[0]

    everyone = (await client.get("/api/v1/users", headers=viewer.headers)).json()
    assert [item["username"] for item in everyone["items"]] == [
        "member0",
        "member1",
        "member3",
        "member4",
    ]
    assert (everyone["total"], everyone["limit"], everyone["offset"]) == (4, 20, 0)
    for item in everyone["items"]:
        assert set(item) == PUBLIC_FIELDS

    page = (
        await client.get("/api/v1/users", params={"limit": 2, "offset": 1}, headers=viewer.headers)
    ).json()
    assert [item["username"] for item in page["items"]] == ["member1", "member3"]
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)

    beyond = (
        await client.get("/api/v1/users", params={"offset": 10}, headers=viewer.headers)
    ).json()
    assert beyond["items"] == []
    assert beyond["total"] == 4


async def test_ties_in_creation_time_are_broken_by_id(
    live_client: httpx.AsyncClient, live_accounts: Accounts, live_database: Database
) -> None:
    # Searched rows are committed: MariaDB's FULLTEXT index sees no other.
    client, accounts = live_client, live_accounts
    viewer = await accounts.user("viewer")
    moment = datetime.now(UTC) + timedelta(days=1)

    async def add_ties(session: AsyncSession) -> None:
        session.add_all(
            User(email=f"{n}@example.com", username=n, hashed_password="x", created_at=moment)
            for n in ("tie_c", "tie_a", "tie_b")
        )

    await live_database.run_in_transaction(add_ties)
    listed = (
        await client.get("/api/v1/users", params={"q": "tie_"}, headers=viewer.headers)
    ).json()
    assert [item["username"] for item in listed["items"]] == ["tie_c", "tie_a", "tie_b"]


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (101, 0), (20, -1), ("x", 0)])
async def test_pagination_bounds_are_422(
    client: httpx.AsyncClient, accounts: Accounts, limit: object, offset: object
) -> None:
    viewer = await accounts.user()
    response = await client.get(
        "/api/v1/users", params={"limit": limit, "offset": offset}, headers=viewer.headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_search_is_case_insensitive_over_username_and_full_name(
    live_client: httpx.AsyncClient, live_accounts: Accounts
) -> None:
    # Searched rows are committed: MariaDB's FULLTEXT index sees no other.
    client, accounts = live_client, live_accounts
    viewer = await accounts.user("viewer")
    await accounts.user("grace_h", full_name="Grace Hopper")
    await accounts.user("hopper_fan")
    await accounts.user("unrelated")
    response = await client.get("/api/v1/users", params={"q": "HOPPER"}, headers=viewer.headers)
    assert sorted(item["username"] for item in response.json()["items"]) == [
        "grace_h",
        "hopper_fan",
    ]


async def test_percent_and_underscore_are_searched_literally(
    live_client: httpx.AsyncClient, live_accounts: Accounts
) -> None:
    # Searched rows are committed: MariaDB's FULLTEXT index sees no other.
    client, accounts = live_client, live_accounts
    viewer = await accounts.user("viewer")
    await accounts.user("a_b")
    await accounts.user("axb")
    await accounts.user("pct", full_name="100% real")
    await accounts.user("plain", full_name="100 real")

    def names(response: httpx.Response) -> list[str]:
        return sorted(item["username"] for item in response.json()["items"])

    underscore = await client.get("/api/v1/users", params={"q": "a_b"}, headers=viewer.headers)
    assert names(underscore) == ["a_b"]
    percent = await client.get("/api/v1/users", params={"q": "%"}, headers=viewer.headers)
    assert names(percent) == ["pct"]
    percent = await client.get("/api/v1/users", params={"q": "0% r"}, headers=viewer.headers)
    assert names(percent) == ["pct"]


async def test_only_admins_search_emails_and_see_private_views(
    live_client: httpx.AsyncClient, live_accounts: Accounts
) -> None:
    # Searched rows are committed: MariaDB's FULLTEXT index sees no other.
    client, accounts = live_client, live_accounts
    user, admin = await accounts.user("viewer"), await accounts.admin()
    await accounts.user("someone", email="hidden-mailbox@example.com")
    as_user = await client.get(
        "/api/v1/users", params={"q": "hidden-mailbox"}, headers=user.headers
    )
    assert as_user.json()["total"] == 0
    as_admin = await client.get(
        "/api/v1/users", params={"q": "hidden-mailbox"}, headers=admin.headers
    )
    assert [item["username"] for item in as_admin.json()["items"]] == ["someone"]
    assert set(as_admin.json()["items"][0]) == PRIVATE_FIELDS


async def test_is_active_filter_is_for_admins_only(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    user, admin = await accounts.user("viewer"), await accounts.admin("root")
    idle = await accounts.user("idle")
    await client.patch(f"/api/v1/users/{idle.id}", json={"is_active": False}, headers=admin.headers)

    forbidden = await client.get(
        "/api/v1/users", params={"is_active": "false"}, headers=user.headers
    )
    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == "forbidden"

    inactive = await client.get(
        "/api/v1/users", params={"is_active": "false"}, headers=admin.headers
    )
    assert [item["username"] for item in inactive.json()["items"]] == ["idle"]
    active = await client.get("/api/v1/users", params={"is_active": "true"}, headers=admin.headers)
    assert sorted(item["username"] for item in active.json()["items"]) == ["root", "viewer"]


@pytest.mark.parametrize("q", ["", "x" * 101, "nul\x00"])
async def test_invalid_search_text_is_422(
    client: httpx.AsyncClient, accounts: Accounts, q: str
) -> None:
    viewer = await accounts.user()
    response = await client.get("/api/v1/users", params={"q": q}, headers=viewer.headers)
    assert response.status_code == 422


async def test_the_list_costs_the_same_statements_for_1_and_50_rows(
    client: httpx.AsyncClient,
    accounts: Accounts,
    session: AsyncSession,
    count_statements: CountStatements,
    dialect: str,
) -> None:
    viewer = await accounts.admin()
    session.add_all(
        User(email=f"bulk{index}@example.com", username=f"bulk{index}", hashed_password="x")
        for index in range(60)
    )
    await session.commit()
    counts = {}
    for limit in (1, 50):
        with count_statements() as counter:
            response = await client.get(
                "/api/v1/users", params={"limit": limit}, headers=viewer.headers
            )
        assert len(response.json()["items"]) == limit
        counts[limit] = counter.count
    assert counts[1] == counts[50]
    # The caller, the page, the total (the planner's estimate first, where there is a
    # planner, then a bounded count): nothing per row.
    assert counts[50] == (3 if dialect == "sqlite" else 4)
