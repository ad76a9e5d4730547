"""The shop under concurrency: real concurrent requests, real commits."""

import asyncio

import httpx

from agora.db.session import Database
from tests.factories import Accounts
from tests.money import Store, assert_money_invariants


async def test_fifty_buyers_for_ten_items(
    live_accounts: Accounts, live_client: httpx.AsyncClient, live_database: Database
) -> None:
    store = Store(live_client, await live_accounts.admin("shopkeeper"))
    buyers = [await live_accounts.user(f"buyer{index}") for index in range(50)]
    for buyer in buyers:
        await store.bank.deposit(buyer, 1_000)
    scarce = await store.product(name="Scarce", price_cents=700, stock=10)

    responses = await asyncio.gather(*(store.order(buyer, (scarce["id"], 1)) for buyer in buyers))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 10 + [409] * 40, [r.text for r in responses if r.status_code >= 500]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"out_of_stock"}
    assert await store.stock(scarce["id"]) == 0
    for buyer, response in zip(buyers, responses, strict=True):
        paid = response.status_code == 201
        assert await store.bank.balance(buyer) == (300 if paid else 1_000)
    await assert_money_invariants(live_database)


async def test_two_concurrent_cancels_refund_once(
    live_accounts: Accounts, live_client: httpx.AsyncClient, live_database: Database
) -> None:
    store = Store(live_client, await live_accounts.admin("shopkeeper"))
    ada = await live_accounts.user("ada")
    await store.bank.deposit(ada, 1_000)
    mug = await store.product(price_cents=400, stock=5)
    order = (await store.order(ada, (mug["id"], 2))).json()
    path = f"/api/v1/orders/{order['id']}/cancel"
    responses = await asyncio.gather(
        live_client.post(path, headers=ada.headers),
        live_client.post(path, headers=store.admin.headers),
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    assert await store.bank.balance(ada) == 1_000
    assert await store.stock(mug["id"]) == 5
    ledger = (await live_client.get("/api/v1/wallet/transactions", headers=ada.headers)).json()
    assert [e["kind"] for e in ledger["items"]].count("refund") == 1
    await assert_money_invariants(live_database)


async def test_an_order_retried_concurrently_is_placed_once(
    live_accounts: Accounts, live_client: httpx.AsyncClient
) -> None:
    store = Store(live_client, await live_accounts.admin("shopkeeper"))
    ada = await live_accounts.user("ada")
    await store.bank.deposit(ada, 1_000)
    mug = await store.product(price_cents=100, stock=50)
    responses = await asyncio.gather(
        *(store.order(ada, (mug["id"], 1), **{"Idempotency-Key": "cart-7"}) for _ in range(20))
    )
    assert {r.status_code for r in responses} <= {201, 409}
    created = [r.json() for r in responses if r.status_code == 201]
    assert created
    assert all(order == created[0] for order in created)
    assert await store.stock(mug["id"]) == 49
    assert await store.bank.balance(ada) == 900
