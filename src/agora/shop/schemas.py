"""Request and response bodies of the shop. Money is integer cents, never a float."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StrictBool, StrictInt, StringConstraints

from agora.api.schemas import Cents, EntityId, InputModel, OutputModel, UpdateModel
from agora.shop.models import NAME_MAX_LENGTH, OrderStatus

MAX_QUANTITY = 10_000
MAX_STOCK = 10**9
MAX_LINES_PER_ORDER = 50
# A product's body in bytes, room for the longest description JSON-escaped.
PRODUCT_MAX_BYTES = 256 * 1024

Stock = Annotated[StrictInt, Field(ge=0, le=MAX_STOCK)]
Quantity = Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY)]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX_LENGTH)
]
Description = Annotated[str, StringConstraints(max_length=10_000)]


class ProductCreate(InputModel):
    name: Name
    description: Description | None = None
    price_cents: Cents
    stock: Stock
    is_active: StrictBool = True


class ProductUpdate(UpdateModel):
    nullable_fields = frozenset({"description"})

    name: Name | None = None
    description: Description | None = None
    price_cents: Cents | None = None
    stock: Stock | None = None
    is_active: StrictBool | None = None


class ProductRead(OutputModel):
    id: int
    name: str
    description: str | None
    price_cents: int
    stock: int
    is_active: bool
    created_at: datetime
    updated_at: datetime


class OrderLine(InputModel):
    product_id: EntityId
    quantity: Quantity


class OrderCreate(InputModel):
    """Lines naming the same product are added together."""

    items: Annotated[list[OrderLine], Field(min_length=1, max_length=MAX_LINES_PER_ORDER)]


class OrderItemRead(OutputModel):
    product_id: int
    name: str
    unit_price_cents: int
    quantity: int


class OrderRead(OutputModel):
    id: int
    order_number: int
    status: OrderStatus
    total_cents: int
    items: list[OrderItemRead]
    created_at: datetime
    updated_at: datetime
