"""Products, orders and what was bought in them."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agora.db.base import Base, IdPK, TimestampMixin
from agora.db.types import BigId, one_of


class OrderStatus(StrEnum):
    PAID = "paid"
    CANCELLED = "cancelled"


NAME_MAX_LENGTH = 200


class Product(TimestampMixin, Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        # The catalogue's filters and sort orders, within active or inactive products.
        Index(None, "is_active", "price_cents", "id"),
        Index(None, "is_active", "name", "id"),
        Index(None, "is_active", "created_at", "id"),
    )

    id: Mapped[IdPK]
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    description: Mapped[str | None] = mapped_column(Text)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(BigInteger)
    is_active: Mapped[bool] = mapped_column(default=True)


class Order(TimestampMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("user_id", "order_number"),
        one_of("status", OrderStatus, name="status"),
        Index(None, "user_id", "status"),
        Index(None, "user_id", "created_at", "id"),
    )

    id: Mapped[IdPK]
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    # 1, 2, 3... per user: numbered under the buyer's wallet lock, so never twice.
    order_number: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.PAID)
    total_cents: Mapped[int] = mapped_column(BigInteger)

    items: Mapped[list[OrderItem]] = relationship(
        order_by="OrderItem.id", lazy="raise", passive_deletes=True
    )


class OrderItem(Base):
    """A line of an order, with the product's name and price as they were when bought."""

    __tablename__ = "order_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index(None, "order_id"),
    )

    id: Mapped[IdPK]
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)
