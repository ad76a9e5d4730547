"""Idempotency-Key on writes that move money."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from agora.api.dependencies import SessionDep
from agora.db.errors import DatabaseBusy
from agora.db.session import Database
from agora.kernel.principal import Principal
from agora.wallet.router import get_wallet_service
from agora.wallet.schemas import LedgerEntryRead, TransferRequest
from agora.wallet.service import WalletService
from tests.factories import Accounts
from tests.money import Bank, assert_money_invariants


@pytest.fixture
async def bank(client: httpx.AsyncClient, accounts: Accounts) -> Bank:
    return Bank(client, await accounts.admin("treasurer"))


async def test_a_retry_replays_the_first_response(
    accounts: Accounts, bank: Bank, database: Database
) -> None:
    ada, bob = await accounts.user(), await accounts.user()
    await bank.deposit(ada, 1000)
    first = await bank.transfer(ada, bob, 250, **{"Idempotency-Key": "pay-bob-1"})
    again = await bank.transfer(ada, bob, 250, **{"Idempotency-Key": "pay-bob-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert (await bank.balance(ada), await bank.balance(bob)) == (750, 250)
    await assert_money_invariants(database)


class BusyOnce(WalletService):
    """A wallet whose transfers meet a busy database (a 503) while `busy` holds a token."""

    def __init__(self, session: AsyncSession, busy: list[None]) -> None:
        super().__init__(session)
        self.busy = busy

    async def transfer(self, sender: Principal, data: TransferRequest) -> LedgerEntryRead:
        if self.busy:
            self.busy.pop()
            raise DatabaseBusy
        return await super().transfer(sender, data)


async def test_a_503_is_not_replayed_and_the_retry_runs(
    app: FastAPI, accounts: Accounts, bank: Bank, database: Database
) -> None:
    ada, bob = await accounts.user(), await accounts.user()
    await bank.deposit(ada, 1000)

    busy_tokens = [None]

    async def busy_once(session: SessionDep) -> WalletService:
        return BusyOnce(session, busy_tokens)

    app.dependency_overrides[get_wallet_service] = busy_once
    try:
        busy = await bank.transfer(ada, bob, 250, **{"Idempotency-Key": "pay-bob"})
        retried = await bank.transfer(ada, bob, 250, **{"Idempotency-Key": "pay-bob"})
    finally:
        app.dependency_overrides.clear()
    assert (busy.status_code, busy.json()["code"]) == (503, "database_busy")
    assert "retry-after" in busy.headers
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    assert (await bank.balance(ada), await bank.balance(bob)) == (750, 250)
    await assert_money_invariants(database)


async def test_the_same_key_with_another_request_is_422(
    client: httpx.AsyncClient, accounts: Accounts, bank: Bank
) -> None:
    ada, bob = await accounts.user(), await accounts.user()
    await bank.deposit(ada, 1000)
    assert (await bank.transfer(ada, bob, 100, **{"Idempotency-Key": "k"})).status_code == 201
    other = await bank.transfer(ada, bob, 200, **{"Idempotency-Key": "k"})
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    elsewhere = await client.post(
        "/api/v1/orders",
        json={"items": [{"product_id": 1, "quantity": 1}]},
        headers={**ada.headers, "Idempotency-Key": "k"},
    )
    assert elsewhere.json()["code"] == "idempotency_key_reused"
    assert await bank.balance(ada) == 900


async def test_keys_belong_to_their_user(accounts: Accounts, bank: Bank) -> None:
    ada, bob = await accounts.user(), await accounts.user()
    await bank.deposit(ada, 100)
    await bank.deposit(bob, 100)
    assert (await bank.transfer(ada, bob, 10, **{"Idempotency-Key": "same"})).status_code == 201
    assert (await bank.transfer(bob, ada, 10, **{"Idempotency-Key": "same"})).status_code == 201
    assert (await bank.balance(ada), await bank.balance(bob)) == (100, 100)


async def test_a_refusal_is_replayed_too(accounts: Accounts, bank: Bank) -> None:
    ada, bob = await accounts.user(), await accounts.user()
    refused = await bank.transfer(ada, bob, 50, **{"Idempotency-Key": "early"})
    assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_funds")
    await bank.deposit(ada, 100)
    replayed = await bank.transfer(ada, bob, 50, **{"Idempotency-Key": "early"})
    assert (replayed.status_code, replayed.json()) == (409, refused.json())
    assert (await bank.transfer(ada, bob, 50, **{"Idempotency-Key": "late"})).status_code == 201


async def test_invalid_input_does_not_use_up_the_key(
    client: httpx.AsyncClient, accounts: Accounts, bank: Bank
) -> None:
    ada, bob = await accounts.user(), await accounts.user()
    await bank.deposit(ada, 100)
    headers = {**ada.headers, "Idempotency-Key": "typo"}
    invalid = await client.post(
        "/api/v1/wallet/transfers",
        json={"to_user_id": bob.id, "amount_cents": 1.5},
        headers=headers,
    )
    assert invalid.status_code == 422
    fixed = await client.post(
        "/api/v1/wallet/transfers",
        json={"to_user_id": bob.id, "amount_cents": 2},
        headers=headers,
    )
    assert fixed.status_code == 201


@pytest.mark.parametrize("key", ["", "has space", "x" * 256])
async def test_malformed_keys_are_422(accounts: Accounts, bank: Bank, key: str) -> None:
    ada, bob = await accounts.user(), await accounts.user()
    await bank.deposit(ada, 100)
    response = await bank.transfer(ada, bob, 10, **{"Idempotency-Key": key})
    assert response.status_code == 422
    assert await bank.balance(ada) == 100


async def test_twenty_concurrent_retries_have_one_effect(
    live_accounts: Accounts, live_client: httpx.AsyncClient, live_database: Database
) -> None:
    bank = Bank(live_client, await live_accounts.admin("treasurer"))
    ada, bob = await live_accounts.user("ada"), await live_accounts.user("bob")
    await bank.deposit(ada, 1000)
    responses = await asyncio.gather(
        *(bank.transfer(ada, bob, 100, **{"Idempotency-Key": "once"}) for _ in range(20))
    )
    created = [r for r in responses if r.status_code == 201]
    in_progress = [r for r in responses if r.status_code == 409]
    assert len(created) + len(in_progress) == 20
    assert created, "at least the first request succeeds"
    assert all(r.json() == created[0].json() for r in created)
    assert all(r.json()["code"] == "idempotency_in_progress" for r in in_progress)
    assert (await bank.balance(ada), await bank.balance(bob)) == (900, 100)
    after = await bank.transfer(ada, bob, 100, **{"Idempotency-Key": "once"})
    assert (after.status_code, after.json()) == (201, created[0].json())
    reused = await bank.transfer(ada, bob, 99, **{"Idempotency-Key": "once"})
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    await assert_money_invariants(live_database)
