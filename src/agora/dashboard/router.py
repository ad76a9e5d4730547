"""GET /users/me/dashboard."""

from typing import Annotated

from fastapi import Depends

from agora.api.dependencies import CurrentUser, session_service
from agora.api.routing import api_router
from agora.dashboard.schemas import Dashboard
from agora.dashboard.service import DashboardService

router = api_router(tags=["users"])


@router.get("/users/me/dashboard", response_model=Dashboard)
async def read_dashboard(
    user: CurrentUser,
    dashboard: Annotated[DashboardService, Depends(session_service(DashboardService))],
) -> Dashboard:
    """The caller's account, balance, number of orders and 10 newest orders."""
    return Dashboard.model_validate(await dashboard.of(user))
