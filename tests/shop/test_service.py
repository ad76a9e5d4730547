"""The shop's rules, called on the service itself: no HTTP in between."""

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from agora.db.session import Database
from agora.kernel.errors import InvalidInput
from agora.kernel.principal import Principal
from agora.shop.errors import OutOfStock, ProductUnavailable
from agora.shop.schemas import MAX_QUANTITY, OrderCreate, OrderLine, ProductCreate
from agora.shop.service import ShopService

BUYER = Principal(1, "ada", is_superuser=False)


def order(*lines: tuple[int, int]) -> OrderCreate:
    return OrderCreate(items=[OrderLine(product_id=pid, quantity=q) for pid, q in lines])


async def test_lines_of_one_product_count_together_against_the_limit(database: Database) -> None:
    half = MAX_QUANTITY // 2 + 1

    async def place(session: AsyncSession) -> None:
        await ShopService(session).place_order(BUYER, order((1, half), (1, half)))

    with pytest.raises(InvalidInput):
        await database.run_in_transaction(place)


async def test_an_unavailable_product_is_refused_before_missing_stock(database: Database) -> None:
    async def stock_one(session: AsyncSession) -> tuple[int, int]:
        shop = ShopService(session)
        on_sale = await shop.create_product(ProductCreate(name="Mug", price_cents=0, stock=1))
        retired = ProductCreate(name="Old", price_cents=0, stock=0, is_active=False)
        return on_sale.id, (await shop.create_product(retired)).id

    mug, old = await database.run_in_transaction(stock_one)

    async def place(lines: tuple[tuple[int, int], ...]) -> None:
        await database.run_in_transaction(
            lambda session: ShopService(session).place_order(BUYER, order(*lines))
        )

    with pytest.raises(ProductUnavailable):
        await place(((mug, 5), (old, 1)))
    with pytest.raises(OutOfStock):
        await place(((mug, 5),))
