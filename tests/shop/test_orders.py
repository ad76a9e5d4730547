"""Orders: priced, stocked and paid in one transaction; cancelled once."""

import logging
from typing import Any

import httpx
import pytest

from agora.db.session import Database
from tests.factories import Account, Accounts
from tests.money import Store, assert_money_invariants

ORDER_FIELDS = {"id", "order_number", "status", "total_cents", "items", "created_at", "updated_at"}


async def one_paid_order(
    accounts: Accounts, store: Store, *, balance: int, price: int
) -> tuple[Account, dict[str, Any]]:
    """A buyer with `balance` cents who bought one product at `price`: the buyer, the order."""
    buyer = await accounts.user()
    await store.bank.deposit(buyer, balance)
    product = await store.product(price_cents=price)
    order: dict[str, Any] = (await store.order(buyer, (product["id"], 1))).json()
    return buyer, order


async def test_an_order_takes_stock_and_payment(
    client: httpx.AsyncClient, accounts: Accounts, store: Store, database: Database
) -> None:
    ada = await accounts.user()
    await store.bank.deposit(ada, 10_000)
    mug, pot = (
        await store.product(name="Mug", price_cents=800),
        await store.product(name="Pot", price_cents=2500, stock=2),
    )
    response = await store.order(ada, (mug["id"], 2), (pot["id"], 1), (mug["id"], 1))
    assert response.status_code == 201
    order = response.json()
    assert set(order) == ORDER_FIELDS
    assert (order["status"], order["total_cents"], order["order_number"]) == ("paid", 4900, 1)
    assert order["items"] == [
        {"product_id": mug["id"], "name": "Mug", "unit_price_cents": 800, "quantity": 3},
        {"product_id": pot["id"], "name": "Pot", "unit_price_cents": 2500, "quantity": 1},
    ]
    assert (await store.stock(mug["id"]), await store.stock(pot["id"])) == (7, 1)
    assert await store.bank.balance(ada) == 5100
    ledger = (await client.get("/api/v1/wallet/transactions", headers=ada.headers)).json()
    newest = ledger["items"][0]
    assert (newest["kind"], newest["amount_cents"], newest["note"]) == ("payment", 4900, "Order 1")
    await assert_money_invariants(database)


async def test_a_paid_order_is_logged_once_it_is_kept(
    accounts: Accounts, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    ada = await accounts.user()
    await store.bank.deposit(ada, 1_000)
    mug = await store.product(price_cents=800)
    with caplog.at_level(logging.INFO, logger="agora.shop.service"):
        paid = await store.order(ada, (mug["id"], 1))
        refused = await store.order(ada, (mug["id"], 1))  # 200 cents left
    assert (paid.status_code, refused.status_code) == (201, 409)
    paid_lines = [record.getMessage() for record in caplog.records if " paid: " in record.message]
    assert paid_lines == [f"order {paid.json()['id']} paid: 800 cents by user {ada.id}"]


async def test_orders_keep_the_price_they_were_bought_at(
    client: httpx.AsyncClient, accounts: Accounts, store: Store
) -> None:
    ada = await accounts.user()
    await store.bank.deposit(ada, 10_000)
    mug = await store.product(name="Mug", price_cents=800)
    order = (await store.order(ada, (mug["id"], 1))).json()
    await client.patch(
        f"/api/v1/products/{mug['id']}",
        json={"price_cents": 999, "name": "Big mug"},
        headers=store.admin.headers,
    )
    again = (await client.get(f"/api/v1/orders/{order['id']}", headers=ada.headers)).json()
    assert again["items"][0]["unit_price_cents"] == 800
    assert again["items"][0]["name"] == "Mug"
    second = (await store.order(ada, (mug["id"], 1))).json()
    assert (second["total_cents"], second["order_number"]) == (999, 2)


async def test_order_numbers_count_per_user(accounts: Accounts, store: Store) -> None:
    ada, bob = await accounts.user(), await accounts.user()
    for user in (ada, bob):
        await store.bank.deposit(user, 1_000)
    mug = await store.product(price_cents=100)
    numbers = [
        (await store.order(user, (mug["id"], 1))).json()["order_number"]
        for user in (ada, ada, bob, ada)
    ]
    assert numbers == [1, 2, 1, 3]


@pytest.mark.parametrize(
    ("setup", "code", "status"),
    [
        ("poor", "insufficient_funds", 409),
        ("too_many", "out_of_stock", 409),
        ("inactive", "product_unavailable", 422),
        ("missing", "product_unavailable", 422),
    ],
)
async def test_refused_orders_change_nothing(
    client: httpx.AsyncClient,
    accounts: Accounts,
    store: Store,
    database: Database,
    setup: str,
    code: str,
    status: int,
) -> None:
    ada = await accounts.user()
    await store.bank.deposit(ada, 50 if setup == "poor" else 10_000)
    mug = await store.product(price_cents=100, stock=3)
    pot = await store.product(price_cents=100, stock=5, is_active=setup != "inactive")
    lines = [(mug["id"], 4 if setup == "too_many" else 1), (pot["id"], 1)]
    if setup == "missing":
        lines.append((987654321, 1))
    response = await store.order(ada, *lines)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert (await store.stock(mug["id"]), await store.stock(pot["id"])) == (3, 5)
    assert await store.bank.balance(ada) == (50 if setup == "poor" else 10_000)
    orders = (await client.get("/api/v1/orders", headers=ada.headers)).json()
    assert orders["total"] == 0
    await assert_money_invariants(database)


@pytest.mark.parametrize(
    "items",
    [
        [],
        [{"product_id": 1, "quantity": 0}],
        [{"product_id": 1, "quantity": -1}],
        [{"product_id": 1, "quantity": 1.5}],
        [{"product_id": 1, "quantity": "2"}],
        [{"product_id": 0, "quantity": 1}],
        [{"product_id": 1}],
        [{"product_id": 1, "quantity": 1, "price_cents": 0}],
        [{"product_id": 1, "quantity": 1}] * 51,
    ],
)
async def test_malformed_orders_are_422(
    client: httpx.AsyncClient, accounts: Accounts, items: list[dict[str, object]]
) -> None:
    ada = await accounts.user()
    response = await client.post("/api/v1/orders", json={"items": items}, headers=ada.headers)
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")


async def test_free_products_need_no_money(
    accounts: Accounts, store: Store, database: Database
) -> None:
    ada = await accounts.user()
    gift = await store.product(price_cents=0)
    order = await store.order(ada, (gift["id"], 2))
    assert (order.status_code, order.json()["total_cents"]) == (201, 0)
    await assert_money_invariants(database)


async def test_orders_are_listed_newest_first_and_only_to_their_owner(
    client: httpx.AsyncClient, accounts: Accounts, store: Store
) -> None:
    ada, bob = await accounts.user(), await accounts.user()
    await store.bank.deposit(ada, 1_000)
    mug = await store.product(price_cents=100)
    ids = [(await store.order(ada, (mug["id"], 1))).json()["id"] for _ in range(3)]
    await client.post(f"/api/v1/orders/{ids[0]}/cancel", headers=ada.headers)
    listed = (await client.get("/api/v1/orders", headers=ada.headers)).json()
    assert [o["id"] for o in listed["items"]] == ids[::-1]
    paid = await client.get("/api/v1/orders", params={"status": "paid"}, headers=ada.headers)
    assert [o["id"] for o in paid.json()["items"]] == ids[:0:-1]
    assert (await client.get("/api/v1/orders", headers=bob.headers)).json()["total"] == 0
    assert (await client.get(f"/api/v1/orders/{ids[1]}", headers=bob.headers)).status_code == 404
    admin_view = await client.get(f"/api/v1/orders/{ids[1]}", headers=store.admin.headers)
    assert admin_view.status_code == 200
    invalid = await client.get("/api/v1/orders", params={"status": "shipped"}, headers=ada.headers)
    assert invalid.status_code == 422


async def test_cancelling_refunds_and_restocks_once(
    client: httpx.AsyncClient, accounts: Accounts, store: Store, database: Database
) -> None:
    ada, bob = await accounts.user(), await accounts.user()
    await store.bank.deposit(ada, 1_000)
    mug = await store.product(price_cents=300, stock=5)
    order = (await store.order(ada, (mug["id"], 2))).json()
    path = f"/api/v1/orders/{order['id']}/cancel"
    assert (await client.post(path, headers=bob.headers)).status_code == 404
    cancelled = await client.post(path, headers=ada.headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert (await store.bank.balance(ada), await store.stock(mug["id"])) == (1_000, 5)
    again = await client.post(path, headers=ada.headers)
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")
    assert (await store.bank.balance(ada), await store.stock(mug["id"])) == (1_000, 5)
    ledger = (await client.get("/api/v1/wallet/transactions", headers=ada.headers)).json()
    assert [e["kind"] for e in ledger["items"]] == ["refund", "payment", "deposit"]
    await assert_money_invariants(database)


async def test_admins_cancel_for_the_buyer(
    client: httpx.AsyncClient, accounts: Accounts, store: Store
) -> None:
    ada, order = await one_paid_order(accounts, store, balance=500, price=500)
    response = await client.post(
        f"/api/v1/orders/{order['id']}/cancel", headers=store.admin.headers
    )
    assert response.status_code == 200
    assert await store.bank.balance(ada) == 500


async def test_a_keyed_cancel_ignores_a_body_it_does_not_read(
    client: httpx.AsyncClient, accounts: Accounts, store: Store
) -> None:
    ada, order = await one_paid_order(accounts, store, balance=1_000, price=100)
    nested = b"[" * 30_000 + b"]" * 30_000  # deeper than any JSON parser recurses, under the cap
    headers = {**ada.headers, "Idempotency-Key": "cancel-1", "content-type": "application/json"}
    path = f"/api/v1/orders/{order['id']}/cancel"
    first = await client.post(path, content=nested, headers=headers)
    again = await client.post(path, content=nested, headers=headers)
    assert (first.status_code, first.json()["status"]) == (200, "cancelled")
    assert (again.status_code, again.headers["idempotent-replayed"]) == (200, "true")


async def test_a_keyed_order_is_the_same_request_in_another_json_layout(
    client: httpx.AsyncClient, accounts: Accounts, store: Store
) -> None:
    ada = await accounts.user()
    await store.bank.deposit(ada, 1_000)
    mug = await store.product(price_cents=100)
    headers = {**ada.headers, "Idempotency-Key": "order-1", "content-type": "application/json"}
    compact = f'{{"items":[{{"product_id":{mug["id"]},"quantity":1}}]}}'
    spaced = f'{{ "items" : [ {{ "quantity" : 1, "product_id" : {mug["id"]} }} ] }}'
    first = await client.post("/api/v1/orders", content=compact, headers=headers)
    again = await client.post("/api/v1/orders", content=spaced, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
