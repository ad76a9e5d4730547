"""Helpers for the tests that move money or stock: deposits, balances, products,
orders, and the invariants. Loaded as a plugin by the root conftest, so the `store`
fixture is everywhere."""

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from agora.db.session import Database
from agora.wallet.models import LedgerEntry, Wallet
from tests.factories import Account, Accounts


class Bank:
    def __init__(self, client: httpx.AsyncClient, admin: Account) -> None:
        self.client = client
        self.admin = admin

    async def deposit(self, user: Account, amount: int) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/wallet/deposits",
            json={"user_id": user.id, "amount_cents": amount},
            headers=self.admin.headers,
        )
        assert response.status_code == 201, response.text
        entry: dict[str, Any] = response.json()
        return entry

    async def balance(self, user: Account) -> int:
        response = await self.client.get("/api/v1/wallet", headers=user.headers)
        assert response.status_code == 200, response.text
        balance: int = response.json()["balance_cents"]
        return balance

    async def transfer(
        self, sender: Account, recipient: Account, amount: int, **headers: str
    ) -> httpx.Response:
        return await self.client.post(
            "/api/v1/wallet/transfers",
            json={"to_user_id": recipient.id, "amount_cents": amount},
            headers={**sender.headers, **headers},
        )


async def assert_money_invariants(database: Database) -> None:
    """No balance below zero; balances add up to the deposits; every balance is exactly
    what its ledger entries say; every transfer has both its sides."""
    async with database.transaction(read_only=True) as session:
        balances = {
            row.user_id: row.balance_cents
            for row in await session.execute(select(Wallet.user_id, Wallet.balance_cents))
        }
        entries = (await session.execute(select(LedgerEntry))).scalars().all()
        deposits = (
            await session.execute(
                select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
                    LedgerEntry.kind == "deposit"
                )
            )
        ).scalar_one()
    assert all(balance >= 0 for balance in balances.values()), balances
    payments = sum(e.amount_cents for e in entries if e.kind == "payment")
    refunds = sum(e.amount_cents for e in entries if e.kind == "refund")
    assert sum(balances.values()) == deposits - payments + refunds
    explained: dict[int, int] = {}
    for entry in entries:
        sign = 1 if entry.to_user_id == entry.user_id else -1
        explained[entry.user_id] = explained.get(entry.user_id, 0) + sign * entry.amount_cents
    assert {user: amount for user, amount in balances.items() if amount} == {
        user: amount for user, amount in explained.items() if amount
    }
    sides: dict[tuple[int | None, int | None, int, str | None], int] = {}
    for entry in entries:
        if entry.kind == "transfer":
            pair = (entry.from_user_id, entry.to_user_id, entry.amount_cents, entry.note)
            sides[pair] = sides.get(pair, 0) + (1 if entry.user_id == entry.from_user_id else -1)
    assert all(count == 0 for count in sides.values()), "a transfer is missing a side"


class Store:
    def __init__(self, client: httpx.AsyncClient, admin: Account) -> None:
        self.client = client
        self.admin = admin
        self.bank = Bank(client, admin)

    async def product(self, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"name": "Widget", "price_cents": 250, "stock": 10}
        body.update(fields)
        response = await self.client.post("/api/v1/products", json=body, headers=self.admin.headers)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def order(
        self, buyer: Account, *lines: tuple[int, int], **headers: str
    ) -> httpx.Response:
        body = {"items": [{"product_id": pid, "quantity": quantity} for pid, quantity in lines]}
        return await self.client.post(
            "/api/v1/orders", json=body, headers={**buyer.headers, **headers}
        )

    async def stock(self, product_id: int) -> int:
        stock: int = (await self.client.get(f"/api/v1/products/{product_id}")).json()["stock"]
        return stock


@pytest.fixture
async def store(client: httpx.AsyncClient, accounts: Accounts) -> Store:
    return Store(client, await accounts.admin("shopkeeper"))
