"""HTTP endpoints of the wallet (/wallet)."""

from typing import Annotated

from fastapi import Depends, Response, status

from agora.api.dependencies import SessionDep
from agora.api.idempotency import IdempotencyDep
from agora.api.params import CursorPagination
from agora.api.routing import api_router
from agora.api.schemas import CursorPage
from agora.api.security import AdminUser, CurrentUser
from agora.wallet.schemas import Balance, DepositRequest, LedgerEntryRead, TransferRequest
from agora.wallet.service import WalletService

router = api_router("/wallet", tags=["wallet"])


async def get_wallet_service(session: SessionDep) -> WalletService:
    return WalletService(session)


WalletServiceDep = Annotated[WalletService, Depends(get_wallet_service)]


@router.get("", response_model=Balance)
async def read_balance(user: CurrentUser, wallet: WalletServiceDep) -> Balance:
    return await wallet.balance(user)


@router.post(
    "/deposits",
    status_code=status.HTTP_201_CREATED,
    response_model=LedgerEntryRead,
    responses={422: {"description": "invalid_recipient, or invalid input"}},
)
async def deposit(
    data: DepositRequest, admin: AdminUser, wallet: WalletServiceDep, idempotency: IdempotencyDep
) -> Response:
    """Admins credit a user's wallet with money from outside."""
    return await idempotency.answer(
        admin, lambda: wallet.deposit(data), status.HTTP_201_CREATED, body=data
    )


@router.post(
    "/transfers",
    status_code=status.HTTP_201_CREATED,
    response_model=LedgerEntryRead,
    responses={
        409: {"description": "insufficient_funds"},
        422: {"description": "invalid_recipient, or invalid input"},
    },
)
async def transfer(
    data: TransferRequest,
    sender: CurrentUser,
    wallet: WalletServiceDep,
    idempotency: IdempotencyDep,
) -> Response:
    """Send money to another active user; the response is the sender's ledger entry.
    Send an `Idempotency-Key` to make retries safe."""
    return await idempotency.answer(
        sender, lambda: wallet.transfer(sender, data), status.HTTP_201_CREATED, body=data
    )


@router.get("/transactions", response_model=CursorPage[LedgerEntryRead])
async def list_transactions(
    user: CurrentUser, wallet: WalletServiceDep, page: CursorPagination
) -> CursorPage[LedgerEntryRead]:
    """The caller's ledger, newest first; `next_cursor` is null on the last page (older
    entries never appear later)."""
    entries = await wallet.history(user, page.after, page.limit + 1)
    more = len(entries) > page.limit
    shown = entries[: page.limit]
    position = shown[-1].id if more else None
    return CursorPage[LedgerEntryRead].model_validate(page.page(shown, position))
