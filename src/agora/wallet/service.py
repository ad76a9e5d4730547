"""Moving money: deposits, transfers, and the payments and refunds of the shop.

Invariants, on every database and under any concurrency: no balance is ever negative;
the sum of all balances equals the sum of all deposits; every change of a balance has
exactly one ledger entry, written in the same transaction. Balances change only through
relative updates of wallets locked in a fixed order (see `WalletRepository.lock`), and
ledger entries of a user are written while its wallet is locked, so a user's entry ids
grow in commit order and the ledger's cursor pages never skip one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agora.db.session import after_commit
from agora.kernel.errors import InvalidRecipient
from agora.telemetry.metrics import TRANSFERS
from agora.users.service import UserService
from agora.wallet.errors import InsufficientFunds
from agora.wallet.models import EntryKind
from agora.wallet.repository import (
    NEWEST_FIRST,
    LedgerRepository,
    WalletRepository,
    entries_before,
)
from agora.wallet.schemas import Balance, LedgerEntryRead

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from agora.kernel.principal import Principal
    from agora.wallet.schemas import DepositRequest, TransferRequest


class WalletService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.wallets = WalletRepository(session)
        self.ledger = LedgerRepository(session)
        self.users = UserService(session)

    async def _is_active_user(self, user_id: int) -> bool:
        return await self.users.get_principal_or_none(user_id) is not None

    async def balance(self, user: Principal) -> Balance:
        return Balance(balance_cents=await self.wallets.balance(user.id))

    async def history(
        self, user: Principal, before: int | None, limit: int
    ) -> list[LedgerEntryRead]:
        """Up to `limit` of the user's entries with ids below `before`, newest first."""
        entries = await self.ledger.list(
            *entries_before(user.id, before), order_by=NEWEST_FIRST, limit=limit
        )
        return [LedgerEntryRead.model_validate(entry) for entry in entries]

    async def deposit(self, data: DepositRequest) -> LedgerEntryRead:
        """Credit money from outside the system (an admin's act)."""
        if not await self._is_active_user(data.user_id):
            raise InvalidRecipient("Deposits go to an existing, active user.")
        await self.wallets.lock([data.user_id])
        await self.wallets.credit(data.user_id, data.amount_cents)
        (entry,) = await self.ledger.record(
            [_entry(EntryKind.DEPOSIT, data.user_id, data.amount_cents, to_user_id=data.user_id)]
        )
        return LedgerEntryRead.model_validate(entry)

    async def transfer(self, sender: Principal, data: TransferRequest) -> LedgerEntryRead:
        """Move money to another user: two balances, two entries, or nothing. Returns the
        sender's entry."""
        recipient_id = data.to_user_id
        if (
            recipient_id == sender.id
            or await self.users.get_principal_or_none(recipient_id) is None
        ):
            raise InvalidRecipient
        balances = await self.wallets.lock([sender.id, recipient_id])
        if balances[sender.id] < data.amount_cents:
            raise InsufficientFunds
        await self.wallets.debit(sender.id, data.amount_cents)
        await self.wallets.credit(recipient_id, data.amount_cents)
        parties = {"from_user_id": sender.id, "to_user_id": recipient_id, "note": data.note}
        sent, _received = await self.ledger.record(
            [
                _entry(EntryKind.TRANSFER, sender.id, data.amount_cents, **parties),
                _entry(EntryKind.TRANSFER, recipient_id, data.amount_cents, **parties),
            ]
        )
        after_commit(self.session, TRANSFERS.inc)
        return LedgerEntryRead.model_validate(sent)

    async def reserve(self, user_id: int, amount: int) -> None:
        """Lock the payer's wallet until `pay` (an order is numbered and paid in
        between), or `InsufficientFunds` if its balance is below `amount`."""
        if (await self.wallets.lock([user_id]))[user_id] < amount:
            raise InsufficientFunds

    async def pay(self, user_id: int, amount: int, *, order_id: int, note: str) -> None:
        """Debit a wallet locked with `reserve` (nothing to do for free orders)."""
        if amount > 0:
            await self.wallets.debit(user_id, amount)
            await self.ledger.record(
                [
                    _entry(
                        EntryKind.PAYMENT,
                        user_id,
                        amount,
                        from_user_id=user_id,
                        order_id=order_id,
                        note=note,
                    )
                ]
            )

    async def refund(self, user_id: int, amount: int, *, order_id: int, note: str) -> None:
        if amount > 0:
            await self.wallets.lock([user_id])
            await self.wallets.credit(user_id, amount)
            await self.ledger.record(
                [
                    _entry(
                        EntryKind.REFUND,
                        user_id,
                        amount,
                        to_user_id=user_id,
                        order_id=order_id,
                        note=note,
                    )
                ]
            )


def _entry(kind: EntryKind, user_id: int, amount: int, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "user_id": user_id, "amount_cents": amount, **fields}
