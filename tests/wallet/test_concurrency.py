"""Money under concurrency: real concurrent requests, real commits, then the invariants."""

import asyncio
import random

import httpx

from agora.db.session import Database
from tests.factories import Accounts
from tests.money import Bank, assert_money_invariants


async def test_two_hundred_random_concurrent_transfers_keep_the_books(
    live_accounts: Accounts, live_client: httpx.AsyncClient, live_database: Database
) -> None:
    bank = Bank(live_client, await live_accounts.admin("treasurer"))
    users = [await live_accounts.user(f"holder{index}") for index in range(10)]
    for user in users:
        await bank.deposit(user, 5_000)
    rng = random.Random(2026)
    plans = []
    for _ in range(200):
        sender, recipient = rng.sample(users, 2)
        plans.append((sender, recipient, rng.randint(1, 3_000)))

    responses = await asyncio.gather(
        *(bank.transfer(sender, recipient, amount) for sender, recipient, amount in plans)
    )

    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {201, 409}, [r.text for r in responses if r.status_code >= 500][:3]
    assert all(r.json()["code"] == "insufficient_funds" for r in responses if r.status_code == 409)
    accepted = [r.json() for r in responses if r.status_code == 201]
    assert accepted, "some transfers went through"
    balances = [await bank.balance(user) for user in users]
    assert sum(balances) == 10 * 5_000
    assert min(balances) >= 0
    for user in users:
        ledger = (
            await live_client.get(
                "/api/v1/wallet/transactions", params={"limit": 100}, headers=user.headers
            )
        ).json()["items"]
        sent_ids = {entry["id"] for entry in ledger if entry["from_user_id"] == user.id}
        assert {e["id"] for e in accepted if e["from_user_id"] == user.id} <= sent_ids
    await assert_money_invariants(live_database)
