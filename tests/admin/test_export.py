"""Exports: every row, streamed, as NDJSON or CSV; never a password hash."""

import csv
import io
import json

import httpx
import pytest

from tests.factories import PASSWORD, Accounts
from tests.money import Store


@pytest.mark.parametrize("file_format", ["ndjson", "csv"])
async def test_admins_export_users_without_their_hashes(
    client: httpx.AsyncClient, accounts: Accounts, file_format: str
) -> None:
    admin = await accounts.admin("root")
    ada = await accounts.user("ada", full_name="Ada, Countess")
    gone = await accounts.user("gone")
    await client.delete(f"/api/v1/users/{gone.id}", headers=gone.headers)
    response = await client.get(
        "/api/v1/admin/exports/users", params={"format": file_format}, headers=admin.headers
    )
    assert response.status_code == 200
    assert "hashed_password" not in response.text
    assert "argon2" not in response.text
    assert PASSWORD not in response.text
    if file_format == "ndjson":
        assert response.headers["content-type"] == "application/x-ndjson"
        rows = [json.loads(line) for line in response.text.splitlines()]
    else:
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["username"] for row in rows] == ["root", "ada", "gone"]
    assert rows[1]["full_name"] == "Ada, Countess"
    assert str(rows[1]["id"]) == str(ada.id)
    assert rows[2]["deleted_at"] not in (None, "")


async def test_posts_and_orders_are_exported(
    client: httpx.AsyncClient, accounts: Accounts, store: Store
) -> None:
    ada = await accounts.user()
    await store.bank.deposit(ada, 1_000)
    mug = await store.product(price_cents=100)
    order = (await store.order(ada, (mug["id"], 2))).json()
    draft = await client.post(
        "/api/v1/posts",
        json={"title": "Draft", "content": "c", "is_published": False},
        headers=ada.headers,
    )
    orders = await client.get("/api/v1/admin/exports/orders", headers=store.admin.headers)
    assert [json.loads(line)["total_cents"] for line in orders.text.splitlines()] == [
        order["total_cents"]
    ]
    posts = await client.get(
        "/api/v1/admin/exports/posts", params={"format": "csv"}, headers=store.admin.headers
    )
    (row,) = csv.DictReader(io.StringIO(posts.text))
    assert (row["id"], row["title"], row["is_published"]) == (
        str(draft.json()["id"]),
        "Draft",
        "false",
    )


async def test_exports_are_for_admins_only(client: httpx.AsyncClient, accounts: Accounts) -> None:
    ada, admin = await accounts.user(), await accounts.admin()
    assert (await client.get("/api/v1/admin/exports/users")).status_code == 401
    assert (await client.get("/api/v1/admin/exports/users", headers=ada.headers)).status_code == 403
    for path, params in (("messages", {}), ("users", {"format": "xml"})):
        response = await client.get(
            f"/api/v1/admin/exports/{path}", params=params, headers=admin.headers
        )
        assert response.status_code == 422
