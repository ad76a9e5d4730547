"""The signed-in user's overview, composed from the users, wallet and shop services.

Its reads run one after the other in the request's session, in a constant number of
statements (the account, the balance, the order count, the newest orders, their items).
Running them concurrently would need a session and a connection per read; each takes well
under a millisecond, so the extra connections would cost more than the overlap saves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agora.dashboard.schemas import Dashboard
from agora.kernel.pages import PageRequest
from agora.users.schemas import UserPrivate

if TYPE_CHECKING:
    from agora.kernel.principal import Principal
    from agora.shop.service import ShopService
    from agora.users.service import UserService
    from agora.wallet.service import WalletService

RECENT_ORDERS = 10


class DashboardService:
    def __init__(self, users: UserService, wallet: WalletService, shop: ShopService) -> None:
        self.users = users
        self.wallet = wallet
        self.shop = shop

    async def of(self, user: Principal) -> Dashboard:
        recent = await self.shop.orders_of(user, status=None, page=PageRequest(RECENT_ORDERS))
        assert recent.total is not None  # (an offset page is always counted)
        return Dashboard(
            user=UserPrivate.model_validate(await self.users.read(user, user.id)),
            balance_cents=(await self.wallet.balance(user)).balance_cents,
            order_count=recent.total,
            recent_orders=list(recent.items),
        )
