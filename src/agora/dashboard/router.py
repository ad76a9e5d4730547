"""GET /users/me/dashboard."""

from typing import Annotated

from fastapi import Depends

from agora.api.dependencies import SessionDep
from agora.api.routing import api_router
from agora.api.security import CurrentUser
from agora.dashboard.schemas import Dashboard
from agora.dashboard.service import DashboardService
from agora.shop.service import ShopService
from agora.users.service import UserService
from agora.wallet.service import WalletService

router = api_router(tags=["users"])


async def get_dashboard_service(session: SessionDep) -> DashboardService:
    return DashboardService(UserService(session), WalletService(session), ShopService(session))


DashboardServiceDep = Annotated[DashboardService, Depends(get_dashboard_service)]


@router.get("/users/me/dashboard", response_model=Dashboard)
async def read_dashboard(user: CurrentUser, dashboard: DashboardServiceDep) -> Dashboard:
    """The caller's account, balance, number of orders and 10 newest orders."""
    return await dashboard.of(user)
