"""HTTP endpoints of the shop: /products and /orders."""

from typing import Annotated

from fastapi import Depends, Query, Response, status

from agora.api.dependencies import SessionDep
from agora.api.idempotency import IdempotencyDep
from agora.api.params import Pagination, PathId, SearchText
from agora.api.routing import api_router
from agora.api.schemas import MAX_AMOUNT_CENTS, CursorPage, Page, not_found
from agora.api.security import AdminUser, CurrentUser
from agora.shop.models import OrderStatus
from agora.shop.repository import ProductFilter, ProductSort
from agora.shop.schemas import (
    PRODUCT_MAX_BYTES,
    OrderCreate,
    OrderRead,
    ProductCreate,
    ProductRead,
    ProductUpdate,
)
from agora.shop.service import ShopService

router = api_router(tags=["shop"])


async def get_shop_service(session: SessionDep) -> ShopService:
    return ShopService(session)


ShopServiceDep = Annotated[ShopService, Depends(get_shop_service)]
ORDER_NOT_FOUND = not_found("no such order, or not the caller's")


@router.post(
    "/products",
    status_code=status.HTTP_201_CREATED,
    response_model=ProductRead,
    max_body_size=PRODUCT_MAX_BYTES,
)
async def create_product(
    data: ProductCreate, _admin: AdminUser, shop: ShopServiceDep
) -> ProductRead:
    return await shop.create_product(data)


@router.get("/products", response_model=Page[ProductRead] | CursorPage[ProductRead])
async def list_products(
    shop: ShopServiceDep,
    pagination: Pagination,
    q: SearchText = None,
    min_price_cents: Annotated[int | None, Query(ge=0, le=MAX_AMOUNT_CENTS)] = None,
    max_price_cents: Annotated[int | None, Query(ge=0, le=MAX_AMOUNT_CENTS)] = None,
    is_active: bool = True,
    sort: Annotated[ProductSort, Query(description="default: newest first")] = "-created_at",
) -> Page[ProductRead] | CursorPage[ProductRead]:
    """A cursor continues the sort it was made in: keep `sort` when passing it."""
    filters = ProductFilter(
        text=q, min_price=min_price_cents, max_price=max_price_cents, is_active=is_active, sort=sort
    )
    result = await shop.search_products(filters, pagination.request)
    return pagination.listing(result, Page[ProductRead], CursorPage[ProductRead])


@router.get(
    "/products/{product_id}", response_model=ProductRead, responses=not_found("no such product")
)
async def read_product(product_id: PathId, shop: ShopServiceDep) -> ProductRead:
    return await shop.get_product(product_id)


@router.patch(
    "/products/{product_id}",
    response_model=ProductRead,
    responses=not_found("no such product"),
    max_body_size=PRODUCT_MAX_BYTES,
)
async def update_product(
    product_id: PathId, data: ProductUpdate, _admin: AdminUser, shop: ShopServiceDep
) -> ProductRead:
    return await shop.update_product(product_id, data)


@router.post(
    "/orders",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderRead,
    responses={
        409: {"description": "out_of_stock or insufficient_funds"},
        422: {"description": "product_unavailable, or invalid input"},
    },
)
async def place_order(
    data: OrderCreate, buyer: CurrentUser, shop: ShopServiceDep, idempotency: IdempotencyDep
) -> Response:
    """Priced from current prices; stock taken and the buyer's wallet debited in one
    transaction. Send an `Idempotency-Key` to make retries safe."""
    return await idempotency.answer(
        buyer, lambda: shop.place_order(buyer, data), status.HTTP_201_CREATED, body=data
    )


@router.get("/orders", response_model=Page[OrderRead] | CursorPage[OrderRead])
async def list_orders(
    buyer: CurrentUser,
    shop: ShopServiceDep,
    pagination: Pagination,
    status: OrderStatus | None = None,
) -> Page[OrderRead] | CursorPage[OrderRead]:
    """The caller's orders, newest first."""
    result = await shop.orders_of(buyer, status=status, page=pagination.request)
    return pagination.listing(result, Page[OrderRead], CursorPage[OrderRead])


@router.get("/orders/{order_id}", response_model=OrderRead, responses=ORDER_NOT_FOUND)
async def read_order(order_id: PathId, viewer: CurrentUser, shop: ShopServiceDep) -> OrderRead:
    return await shop.get_order(viewer, order_id)


@router.post(
    "/orders/{order_id}/cancel",
    response_model=OrderRead,
    responses={**ORDER_NOT_FOUND, 409: {"description": "invalid_state: not a paid order"}},
)
async def cancel_order(
    order_id: PathId, actor: CurrentUser, shop: ShopServiceDep, idempotency: IdempotencyDep
) -> Response:
    """The owner or an admin: refund and restock, once."""
    return await idempotency.answer(actor, lambda: shop.cancel_order(actor, order_id))
