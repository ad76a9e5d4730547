"""The body of the dashboard."""

from agora.api.schemas import OutputModel
from agora.shop.schemas import OrderRead
from agora.users.schemas import UserPrivate


class Dashboard(OutputModel):
    user: UserPrivate
    balance_cents: int
    order_count: int
    recent_orders: list[OrderRead]
