"""The catalogue: admins create and change products, anyone browses them."""

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from agora.db.session import Database
from agora.shop.models import Product
from tests.factories import Accounts
from tests.money import Store

PRODUCT_FIELDS = {
    "id",
    "name",
    "description",
    "price_cents",
    "stock",
    "is_active",
    "created_at",
    "updated_at",
}


async def test_admins_create_products(client: httpx.AsyncClient, store: Store) -> None:
    created = await store.product(name=" Lamp ", description="Bright", price_cents=1999, stock=3)
    assert set(created) == PRODUCT_FIELDS
    assert (created["name"], created["price_cents"], created["stock"], created["is_active"]) == (
        "Lamp",
        1999,
        3,
        True,
    )
    fetched = await client.get(f"/api/v1/products/{created['id']}")
    assert fetched.json() == created


async def test_only_admins_create_or_change_products(
    client: httpx.AsyncClient, accounts: Accounts, store: Store
) -> None:
    ada = await accounts.user()
    body = {"name": "x", "price_cents": 1, "stock": 1}
    assert (await client.post("/api/v1/products", json=body)).status_code == 401
    assert (
        await client.post("/api/v1/products", json=body, headers=ada.headers)
    ).status_code == 403
    product = await store.product()
    path = f"/api/v1/products/{product['id']}"
    assert (await client.patch(path, json={"stock": 0}, headers=ada.headers)).status_code == 403
    assert (await client.get(path)).json()["stock"] == 10


@pytest.mark.parametrize(
    "fields",
    [
        {"price_cents": -1},
        {"price_cents": 9.99},
        {"price_cents": 10.0},
        {"price_cents": "10"},
        {"stock": -1},
        {"stock": 1.5},
        {"name": ""},
        {"name": "x" * 201},
        {"is_active": "yes"},
        {"sku": "unknown field"},
    ],
)
async def test_invalid_products_are_422(
    client: httpx.AsyncClient, store: Store, fields: dict[str, object]
) -> None:
    body: dict[str, object] = {"name": "x", "price_cents": 1, "stock": 1}
    body.update(fields)
    response = await client.post("/api/v1/products", json=body, headers=store.admin.headers)
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")


async def test_patch_changes_only_what_is_sent(client: httpx.AsyncClient, store: Store) -> None:
    product = await store.product(description="old")
    path = f"/api/v1/products/{product['id']}"
    changed = await client.patch(
        path, json={"price_cents": 300, "description": None}, headers=store.admin.headers
    )
    assert changed.status_code == 200
    body = changed.json()
    assert (body["price_cents"], body["description"], body["name"], body["stock"]) == (
        300,
        None,
        "Widget",
        10,
    )
    for invalid in ({"name": None}, {"price_cents": -3}, {"stock": None}):
        response = await client.patch(path, json=invalid, headers=store.admin.headers)
        assert response.status_code == 422
    missing = await client.patch(
        "/api/v1/products/987654321", json={"stock": 1}, headers=store.admin.headers
    )
    assert missing.status_code == 404


async def test_browsing_filters_and_sorts(
    live_client: httpx.AsyncClient, live_accounts: Accounts, live_database: Database
) -> None:
    # Searched rows are committed: MariaDB's FULLTEXT index sees no other.
    client = live_client
    store = Store(live_client, await live_accounts.admin("shopkeeper"))
    await store.product(name="Blue mug", price_cents=800)
    await store.product(name="Red mug", price_cents=1200, description="100% ceramic")
    await store.product(name="Teapot", price_cents=2500)
    await store.product(name="Old mug", price_cents=100, is_active=False)
    moment = datetime(2031, 1, 1, tzinfo=UTC)

    async def add_ties(session: AsyncSession) -> None:
        session.add_all(
            Product(name=f"Tie {i}", price_cents=500, stock=1, created_at=moment) for i in range(2)
        )

    await live_database.run_in_transaction(add_ties)

    async def names(**params: object) -> list[str]:
        response = await client.get("/api/v1/products", params=params)
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()["items"]]

    assert await names() == ["Tie 1", "Tie 0", "Teapot", "Red mug", "Blue mug"]
    assert await names(sort="price") == ["Tie 0", "Tie 1", "Blue mug", "Red mug", "Teapot"]
    assert await names(sort="-price") == ["Teapot", "Red mug", "Blue mug", "Tie 1", "Tie 0"]
    assert await names(sort="name") == ["Blue mug", "Red mug", "Teapot", "Tie 0", "Tie 1"]
    assert await names(q="MUG", sort="name") == ["Blue mug", "Red mug"]
    assert await names(q="%") == ["Red mug"]
    assert await names(min_price_cents=800, max_price_cents=1200, sort="price") == [
        "Blue mug",
        "Red mug",
    ]
    assert await names(is_active="false") == ["Old mug"]
    for invalid in ({"sort": "price desc"}, {"min_price_cents": -1}, {"max_price_cents": 1.5}):
        assert (await client.get("/api/v1/products", params=invalid)).status_code == 422
