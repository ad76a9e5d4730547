"""Business rules of the shop: an order takes stock and payment together, or nothing.

Locks are always taken in the same order, by every transaction that moves stock or
money: an order row, then products by id, then wallets by user id. Two transactions
therefore never wait for each other in a circle; a deadlock the database still reports
(MariaDB's gap locks) is retried by the unit of work.
"""

from __future__ import annotations

import logging
from functools import cached_property, partial
from typing import TYPE_CHECKING

from agora.db.session import after_commit
from agora.kernel.errors import InvalidInput
from agora.shop.errors import InvalidState, OrderNotFound, OutOfStock, ProductUnavailable
from agora.shop.models import Order, OrderItem, OrderStatus, Product
from agora.shop.repository import (
    NEWEST_FIRST,
    WITH_ITEMS,
    OrderRepository,
    ProductRepository,
    matching,
    orders_of,
    product_order,
    visible_to,
)
from agora.shop.schemas import MAX_QUANTITY, OrderRead, ProductRead
from agora.telemetry.metrics import ORDERS_PAID
from agora.wallet.service import WalletService

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from agora.kernel.pages import PageRequest, PageResult
    from agora.kernel.principal import Principal
    from agora.shop.repository import ProductFilter
    from agora.shop.schemas import OrderCreate, ProductCreate, ProductUpdate


logger = logging.getLogger(__name__)


def _quantities(data: OrderCreate) -> dict[int, int]:
    """Quantity per product, lines of the same product added together, in first order."""
    quantities: dict[int, int] = {}
    for line in data.items:
        quantities[line.product_id] = quantities.get(line.product_id, 0) + line.quantity
    if any(quantity > MAX_QUANTITY for quantity in quantities.values()):
        raise InvalidInput(f"At most {MAX_QUANTITY} of one product per order.")
    return quantities


class ShopService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.products = ProductRepository(session)
        self.orders = OrderRepository(session)

    @cached_property
    def wallet(self) -> WalletService:
        """Built on first use: reads of the catalogue never need it."""
        return WalletService(self.session)

    async def create_product(self, data: ProductCreate) -> ProductRead:
        return ProductRead.model_validate(await self.products.add(Product(**data.model_dump())))

    async def update_product(self, product_id: int, data: ProductUpdate) -> ProductRead:
        product = await self.products.get(product_id)
        return ProductRead.model_validate(await self.products.update(product, data.changes()))

    async def get_product(self, product_id: int) -> ProductRead:
        """The product's stored columns, whether it is on sale or not."""
        return ProductRead.model_validate(await self.products.get_row(product_id))

    async def search_products(
        self, filters: ProductFilter, page: PageRequest
    ) -> PageResult[ProductRead]:
        found = await self.products.list_and_count(
            *matching(filters), ordering=product_order(filters), page=page
        )
        return found.map(ProductRead.model_validate)

    async def place_order(self, buyer: Principal, data: OrderCreate) -> OrderRead:
        """Price the order from current prices, take the stock, debit the buyer and write
        the ledger, in one transaction. Refusals, checked in this order: 422
        `product_unavailable`, 409 `out_of_stock`, 409 `insufficient_funds`."""
        quantities = _quantities(data)
        products = await self.products.lock(quantities)
        if any(pid not in products or not products[pid].is_active for pid in quantities):
            raise ProductUnavailable
        if any(products[pid].stock < quantity for pid, quantity in quantities.items()):
            raise OutOfStock
        total = sum(products[pid].price_cents * quantity for pid, quantity in quantities.items())
        await self.wallet.reserve(buyer.id, total)
        order = Order(
            user_id=buyer.id,
            order_number=await self.orders.next_number(buyer.id),
            status=OrderStatus.PAID,
            total_cents=total,
            items=[
                OrderItem(
                    product_id=pid,
                    name=products[pid].name,
                    unit_price_cents=products[pid].price_cents,
                    quantity=quantity,
                )
                for pid, quantity in quantities.items()
            ],
        )
        await self.orders.add(order)
        for pid in sorted(quantities):
            await self.products.take(pid, quantities[pid])
        await self.wallet.pay(
            buyer.id, total, order_id=order.id, note=f"Order {order.order_number}"
        )
        # Said once the order is kept: never for one rolled back, once if it was re-run.
        after_commit(
            self.session,
            partial(logger.info, "order %d paid: %d cents by user %d", order.id, total, buyer.id),
        )
        after_commit(self.session, ORDERS_PAID.inc)
        return await self.get_order(buyer, order.id)

    async def cancel_order(self, actor: Principal, order_id: int) -> OrderRead:
        """`paid` to `cancelled`: restock and refund, once, in one transaction."""
        order = await self._visible_order(actor, order_id)
        if not await self.orders.mark_cancelled(order.id):
            raise InvalidState
        for item in sorted(order.items, key=lambda item: item.product_id):
            await self.products.put_back(item.product_id, item.quantity)
        await self.wallet.refund(
            order.user_id,
            order.total_cents,
            order_id=order.id,
            note=f"Order {order.order_number} cancelled",
        )
        return await self.get_order(actor, order.id)

    async def get_order(self, viewer: Principal, order_id: int) -> OrderRead:
        """The order with its items, if `viewer` owns it or is an admin."""
        return OrderRead.model_validate(await self._visible_order(viewer, order_id))

    async def _visible_order(self, viewer: Principal, order_id: int) -> Order:
        order = await self.orders.get_one_or_none(
            Order.id == order_id, *visible_to(viewer), options=WITH_ITEMS
        )
        if order is None:
            raise OrderNotFound
        return order

    async def orders_of(
        self, buyer: Principal, *, status: OrderStatus | None, page: PageRequest
    ) -> PageResult[OrderRead]:
        """The buyer's orders with their items, newest first."""
        found = await self.orders.list_and_count(
            *orders_of(buyer.id, status), ordering=NEWEST_FIRST, page=page, options=WITH_ITEMS
        )
        return found.map(OrderRead.model_validate)
