"""Balances, deposits, transfers and the ledger."""

import base64

import httpx
import pytest

from agora.db.session import Database
from tests.factories import Accounts
from tests.money import Bank, assert_money_invariants

ENTRY_FIELDS = {"id", "kind", "amount_cents", "from_user_id", "to_user_id", "note", "created_at"}


@pytest.fixture
async def bank(client: httpx.AsyncClient, accounts: Accounts) -> Bank:
    return Bank(client, await accounts.admin("treasurer"))


async def test_a_new_user_has_nothing(
    client: httpx.AsyncClient, accounts: Accounts, bank: Bank
) -> None:
    ada = await accounts.user()
    assert await bank.balance(ada) == 0
    assert (await client.get("/api/v1/wallet")).status_code == 401


async def test_deposits_are_for_admins(
    client: httpx.AsyncClient, accounts: Accounts, bank: Bank, database: Database
) -> None:
    ada = await accounts.user()
    entry = await bank.deposit(ada, 5000)
    assert set(entry) == ENTRY_FIELDS
    assert (entry["kind"], entry["amount_cents"], entry["from_user_id"], entry["to_user_id"]) == (
        "deposit",
        5000,
        None,
        ada.id,
    )
    assert await bank.balance(ada) == 5000
    denied = await client.post(
        "/api/v1/wallet/deposits",
        json={"user_id": ada.id, "amount_cents": 10},
        headers=ada.headers,
    )
    assert (denied.status_code, denied.json()["code"]) == (403, "forbidden")
    assert await bank.balance(ada) == 5000
    await assert_money_invariants(database)


@pytest.mark.parametrize("amount", [0, -5, 1.5, 10.0, "100", None, 10**12 + 1, True])
async def test_amounts_are_positive_whole_cents(
    client: httpx.AsyncClient, accounts: Accounts, bank: Bank, amount: object
) -> None:
    ada, bob = await accounts.user(), await accounts.user()
    await bank.deposit(ada, 1000)
    for path, body, who in (
        ("/api/v1/wallet/deposits", {"user_id": ada.id, "amount_cents": amount}, bank.admin),
        ("/api/v1/wallet/transfers", {"to_user_id": bob.id, "amount_cents": amount}, ada),
    ):
        response = await client.post(path, json=body, headers=who.headers)
        assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    assert (await bank.balance(ada), await bank.balance(bob)) == (1000, 0)


async def test_a_transfer_moves_money_with_one_entry_per_side(
    client: httpx.AsyncClient, accounts: Accounts, bank: Bank, database: Database
) -> None:
    ada, bob = await accounts.user(), await accounts.user()
    await bank.deposit(ada, 1000)
    response = await client.post(
        "/api/v1/wallet/transfers",
        json={"to_user_id": bob.id, "amount_cents": 300, "note": "lunch"},
        headers=ada.headers,
    )
    assert response.status_code == 201
    sent = response.json()
    assert (
        sent["kind"],
        sent["amount_cents"],
        sent["from_user_id"],
        sent["to_user_id"],
        sent["note"],
    ) == ("transfer", 300, ada.id, bob.id, "lunch")
    assert (await bank.balance(ada), await bank.balance(bob)) == (700, 300)
    bobs = (await client.get("/api/v1/wallet/transactions", headers=bob.headers)).json()
    assert [(e["kind"], e["from_user_id"], e["amount_cents"]) for e in bobs["items"]] == [
        ("transfer", ada.id, 300)
    ]
    assert bobs["items"][0]["id"] != sent["id"]
    await assert_money_invariants(database)


async def test_overdrafts_are_refused_and_change_nothing(
    accounts: Accounts, bank: Bank, database: Database
) -> None:
    ada, bob = await accounts.user(), await accounts.user()
    await bank.deposit(ada, 100)
    response = await bank.transfer(ada, bob, 101)
    assert (response.status_code, response.json()["code"]) == (409, "insufficient_funds")
    assert (await bank.balance(ada), await bank.balance(bob)) == (100, 0)
    assert (await bank.transfer(ada, bob, 100)).status_code == 201
    assert (await bank.balance(ada), await bank.balance(bob)) == (0, 100)
    await assert_money_invariants(database)


@pytest.mark.parametrize("recipient", ["self", "missing", "deleted", "inactive"])
async def test_bad_recipients_are_422(
    client: httpx.AsyncClient, accounts: Accounts, bank: Bank, recipient: str
) -> None:
    ada, target = await accounts.user(), await accounts.user()
    await bank.deposit(ada, 100)
    if recipient == "deleted":
        await client.delete(f"/api/v1/users/{target.id}", headers=target.headers)
    if recipient == "inactive":
        await client.patch(
            f"/api/v1/users/{target.id}", json={"is_active": False}, headers=bank.admin.headers
        )
    to_user_id = {"self": ada.id, "missing": 987654321}.get(recipient, target.id)
    response = await client.post(
        "/api/v1/wallet/transfers",
        json={"to_user_id": to_user_id, "amount_cents": 10},
        headers=ada.headers,
    )
    assert (response.status_code, response.json()["code"]) == (422, "invalid_recipient")
    assert await bank.balance(ada) == 100
    if recipient != "self":
        deposit = await client.post(
            "/api/v1/wallet/deposits",
            json={"user_id": to_user_id, "amount_cents": 10},
            headers=bank.admin.headers,
        )
        assert (deposit.status_code, deposit.json()["code"]) == (422, "invalid_recipient")


async def test_the_ledger_pages_newest_first(
    client: httpx.AsyncClient, accounts: Accounts, bank: Bank
) -> None:
    ada, bob = await accounts.user(), await accounts.user()
    await bank.deposit(ada, 10_000)
    for amount in range(1, 8):
        assert (await bank.transfer(ada, bob, amount)).status_code == 201
    seen: list[int] = []
    params: dict[str, object] = {"limit": 3}
    while True:
        page = (
            await client.get("/api/v1/wallet/transactions", params=params, headers=ada.headers)
        ).json()
        seen += [entry["amount_cents"] for entry in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [7, 6, 5, 4, 3, 2, 1, 10_000]
    cursor = base64.urlsafe_b64encode(b"v9:1").decode()
    invalid = await client.get(
        "/api/v1/wallet/transactions", params={"cursor": cursor}, headers=ada.headers
    )
    assert (invalid.status_code, invalid.json()["code"]) == (422, "invalid_cursor")
