"""All SQL of the shop: the catalogue, stock taken under row locks, orders."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from agora.db.repository import PageResult, Repository, paginate, text_search
from agora.db.types import utc_now
from agora.errors import Conflict
from agora.shop.models import Order, Product

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy import ColumnElement

    from agora.auth.principal import Principal

ProductSort = Literal["price", "-price", "name", "-created_at"]
_PRODUCT_ORDER: dict[str, tuple[Any, ...]] = {
    "price": (Product.price_cents, Product.id),
    "-price": (Product.price_cents.desc(), Product.id.desc()),
    "name": (Product.name, Product.id),
    "-created_at": (Product.created_at.desc(), Product.id.desc()),
}


class OutOfStock(Conflict):
    default_code = "out_of_stock"
    default_detail = "Not enough of a product is in stock."


class ProductRepository(Repository[Product]):
    model = Product

    async def search(
        self,
        *,
        text: str | None,
        min_price: int | None,
        max_price: int | None,
        is_active: bool,
        sort: ProductSort,
        limit: int,
        offset: int,
    ) -> PageResult[Product]:
        where: list[ColumnElement[bool]] = [Product.is_active.is_(is_active)]
        if text is not None:
            where.append(text_search(text, Product.name, Product.description))
        if min_price is not None:
            where.append(Product.price_cents >= min_price)
        if max_price is not None:
            where.append(Product.price_cents <= max_price)
        statement = self.select(*where).order_by(*_PRODUCT_ORDER[sort])
        return await paginate(self.session, statement, limit=limit, offset=offset)

    async def lock(self, product_ids: Iterable[int]) -> dict[int, Product]:
        """The products (those that exist), locked in id order until the end of the
        transaction, read as last committed (a locking read, on every database)."""
        statement = (
            self.select(Product.id.in_(sorted(set(product_ids))))
            .order_by(Product.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return {product.id: product for product in await self.get_many(statement)}

    async def take(self, product_id: int, quantity: int) -> None:
        """Remove `quantity` from a locked product's stock, never below zero."""
        statement = (
            update(Product)
            .where(Product.id == product_id, Product.stock >= quantity)
            .values(stock=Product.stock - quantity)
        )
        if await self.affected(statement) != 1:
            raise OutOfStock

    async def put_back(self, product_id: int, quantity: int) -> None:
        statement = (
            update(Product).where(Product.id == product_id).values(stock=Product.stock + quantity)
        )
        await self.affected(statement)


class OrderRepository(Repository[Order]):
    model = Order

    def _with_items(self, *where: ColumnElement[bool]) -> Any:
        return (
            self.select(*where)
            .options(selectinload(Order.items))
            .order_by(Order.created_at.desc(), Order.id.desc())
        )

    async def next_number(self, user_id: int) -> int:
        """The user's next order number. Only call it holding the user's wallet lock,
        which makes the buyer's orders be numbered one at a time."""
        statement = select(func.coalesce(func.max(Order.order_number), 0) + 1).where(
            Order.user_id == user_id
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def get_visible(self, order_id: int, viewer: Principal) -> Order | None:
        """The order with its items, if `viewer` owns it or is an admin."""
        where = [Order.id == order_id]
        if not viewer.is_superuser:
            where.append(Order.user_id == viewer.id)
        statement = self._with_items(*where).execution_options(populate_existing=True)
        order: Order | None = (await self.session.execute(statement)).scalar_one_or_none()
        return order

    async def of_user(
        self, user_id: int, *, status: str | None, limit: int, offset: int
    ) -> PageResult[Order]:
        """The user's orders with their items, newest first (ties: higher id first)."""
        where = [Order.user_id == user_id]
        if status is not None:
            where.append(Order.status == status)
        return await paginate(
            self.session,
            self._with_items(*where),
            limit=limit,
            offset=offset,
            count=self.select(*where),
        )

    async def mark_cancelled(self, order_id: int) -> bool:
        """Cancel the order if it is paid. Of two concurrent cancels, the second waits for
        the first and then finds nothing to update."""
        statement = (
            update(Order)
            .where(Order.id == order_id, Order.status == "paid")
            .values(status="cancelled", updated_at=utc_now())
        )
        return await self.affected(statement) == 1
