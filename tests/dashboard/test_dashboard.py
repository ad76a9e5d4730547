"""GET /api/v1/users/me/dashboard."""

import httpx

from tests.databases import CountStatements
from tests.factories import Accounts
from tests.money import Store


async def test_the_dashboard_sums_up_the_caller(
    client: httpx.AsyncClient, accounts: Accounts, store: Store
) -> None:
    ada, bob = await accounts.user("ada"), await accounts.user("bob")
    await store.bank.deposit(ada, 10_000)
    await store.bank.deposit(bob, 10_000)
    mug = await store.product(price_cents=100, stock=100)
    orders = [(await store.order(ada, (mug["id"], 1 + i))).json() for i in range(12)]
    await store.order(bob, (mug["id"], 1))
    response = await client.get("/api/v1/users/me/dashboard", headers=ada.headers)
    assert response.status_code == 200
    board = response.json()
    assert set(board) == {"user", "balance_cents", "order_count", "recent_orders"}
    assert board["user"]["username"] == "ada"
    assert board["user"]["email"] == "ada@example.com"
    assert board["balance_cents"] == 10_000 - sum(100 * (1 + i) for i in range(12))
    assert board["order_count"] == 12
    assert [o["id"] for o in board["recent_orders"]] == [o["id"] for o in orders[::-1][:10]]
    assert board["recent_orders"][0]["items"][0]["quantity"] == 12
    assert (await client.get("/api/v1/users/me/dashboard")).status_code == 401


async def test_the_dashboard_costs_the_same_whatever_the_number_of_orders(
    client: httpx.AsyncClient,
    accounts: Accounts,
    store: Store,
    count_statements: CountStatements,
    dialect: str,
) -> None:
    mug = await store.product(price_cents=10, stock=10_000)
    counts = []
    for number_of_orders in (11, 30):
        buyer = await accounts.user()
        await store.bank.deposit(buyer, 100_000)
        for _ in range(number_of_orders):
            await store.order(buyer, (mug["id"], 2), (mug["id"], 1))
        with count_statements() as counter:
            response = await client.get("/api/v1/users/me/dashboard", headers=buyer.headers)
        assert response.json()["order_count"] == number_of_orders
        counts.append(counter.count)
    # The caller, the 10 newest orders, their items, the order count (the planner's
    # estimate first, where there is a planner), the account, the balance: nothing per
    # order.
    expected = 6 if dialect == "sqlite" else 7
    assert counts == [expected, expected]
