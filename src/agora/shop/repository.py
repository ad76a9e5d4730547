"""All SQL of the shop: the catalogue, stock taken under row locks, orders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import selectinload

from agora.db.keyset import Ordering
from agora.db.repository import Repository
from agora.db.search import SearchIndex, text_search
from agora.db.types import utc_now
from agora.shop.errors import OutOfStock
from agora.shop.models import Order, OrderStatus, Product

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy import ColumnElement

    from agora.kernel.principal import Principal

# What the migrations index for `q` (agora.db.search).
PRODUCT_SEARCH = SearchIndex("products", ("name", "description"))
ProductSort = Literal["price", "-price", "name", "-created_at"]
PRODUCT_ORDER = {
    "price": Ordering("products:price", Product.price_cents, Product.id),
    "-price": Ordering("products:-price", Product.price_cents.desc(), Product.id.desc()),
    "name": Ordering("products:name", Product.name, Product.id),
    "-created_at": Ordering("products:-created_at", Product.created_at.desc(), Product.id.desc()),
}


@dataclass(frozen=True, slots=True)
class ProductFilter:
    """What the product list is narrowed to, and its order (None: not filtered)."""

    text: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    is_active: bool = True
    sort: ProductSort = "-created_at"


# The statements of placing and cancelling orders, built once (see agora.db.repository).
_LOCKED_PRODUCTS = (
    select(Product)
    .where(Product.id.in_(bindparam("product_ids", expanding=True)))
    .order_by(Product.id)
    .with_for_update()
    .execution_options(populate_existing=True)
)
_TAKE = (
    update(Product)
    .where(Product.id == bindparam("product"), Product.stock >= bindparam("quantity"))
    .values(stock=Product.stock - bindparam("quantity"))
)
_PUT_BACK = (
    update(Product)
    .where(Product.id == bindparam("product"))
    .values(stock=Product.stock + bindparam("quantity"))
)
_NEXT_NUMBER = select(func.coalesce(func.max(Order.order_number), 0) + 1).where(
    Order.user_id == bindparam("buyer")
)
_CANCEL = (
    update(Order)
    .where(Order.id == bindparam("order"), Order.status == OrderStatus.PAID)
    .values(status=OrderStatus.CANCELLED, updated_at=bindparam("now"))
)


def matching(filters: ProductFilter) -> list[ColumnElement[bool]]:
    """Filters of the catalogue: what `filters` narrows it to."""
    where: list[ColumnElement[bool]] = [Product.is_active == filters.is_active]
    if filters.text is not None:
        where.append(text_search(PRODUCT_SEARCH, filters.text, Product.name, Product.description))
    if filters.min_price is not None:
        where.append(Product.price_cents >= filters.min_price)
    if filters.max_price is not None:
        where.append(Product.price_cents <= filters.max_price)
    return where


def product_order(filters: ProductFilter) -> Ordering:
    return PRODUCT_ORDER[filters.sort]


class ProductRepository(Repository[Product]):
    model = Product

    async def lock(self, product_ids: Iterable[int]) -> dict[int, Product]:
        """The products (those that exist), locked in id order until the end of the
        transaction, read as last committed (a locking read, on every database)."""
        result = await self.session.execute(
            _LOCKED_PRODUCTS, {"product_ids": sorted(set(product_ids))}
        )
        return {product.id: product for product in result.scalars()}

    async def take(self, product_id: int, quantity: int) -> None:
        """Remove `quantity` from a locked product's stock, never below zero."""
        if await self.affected(_TAKE, {"product": product_id, "quantity": quantity}) != 1:
            raise OutOfStock

    async def put_back(self, product_id: int, quantity: int) -> None:
        await self.affected(_PUT_BACK, {"product": product_id, "quantity": quantity})


WITH_ITEMS = (selectinload(Order.items),)
# Newest first; ties (orders of the same instant) by higher id first.
NEWEST_FIRST = Ordering("orders", Order.created_at.desc(), Order.id.desc())


def visible_to(viewer: Principal) -> list[ColumnElement[bool]]:
    """Orders `viewer` may see: its own; admins see all."""
    return [] if viewer.is_superuser else [Order.user_id == viewer.id]


def orders_of(user_id: int, status: OrderStatus | None) -> list[ColumnElement[bool]]:
    where = [Order.user_id == user_id]
    if status is not None:
        where.append(Order.status == status)
    return where


class OrderRepository(Repository[Order]):
    model = Order

    async def next_number(self, user_id: int) -> int:
        """The user's next order number. Only call it holding the user's wallet lock,
        which makes the buyer's orders be numbered one at a time."""
        return int((await self.session.execute(_NEXT_NUMBER, {"buyer": user_id})).scalar_one())

    async def mark_cancelled(self, order_id: int) -> bool:
        """Cancel the order if it is paid. Of two concurrent cancels, the second waits for
        the first and then finds nothing to update."""
        return await self.affected(_CANCEL, {"order": order_id, "now": utc_now()}) == 1
