"""All SQL of the wallet: balances, taken under row locks, and the ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update

from agora.db.repository import AnyRow, Repository
from agora.wallet.errors import InsufficientFunds
from agora.wallet.models import LedgerEntry, Wallet

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from sqlalchemy import ColumnElement


_LOCKED_BALANCES = (
    select(Wallet.user_id, Wallet.balance_cents)
    .where(Wallet.user_id.in_(bindparam("user_ids", expanding=True)))
    .order_by(Wallet.user_id)
    .with_for_update()
)
_DEBIT = (
    update(Wallet)
    .where(Wallet.user_id == bindparam("wallet_user"), Wallet.balance_cents >= bindparam("amount"))
    .values(balance_cents=Wallet.balance_cents - bindparam("amount"))
)
_CREDIT = (
    update(Wallet)
    .where(Wallet.user_id == bindparam("wallet_user"))
    .values(balance_cents=Wallet.balance_cents + bindparam("amount"))
)
_BALANCE = select(Wallet.balance_cents).where(Wallet.user_id == bindparam("wallet_user"))


class WalletRepository(Repository[Wallet]):
    model = Wallet

    async def balance(self, user_id: int) -> int:
        row = await self.fetch_row(_BALANCE, {"wallet_user": user_id})
        return 0 if row is None else int(row.balance_cents)

    async def lock(self, user_ids: Iterable[int]) -> dict[int, int]:
        """Create the wallets that don't exist yet, then lock them all, in user id order,
        until the end of the transaction; returns their balances.

        Every transaction that moves money locks wallets this way, in the same order, so
        two of them never wait for each other in a circle. The lock is taken by a locking
        read, which sees the latest committed balance even under MariaDB's REPEATABLE
        READ. (SQLite has no row locks: its writers run one at a time.)
        """
        ids = sorted(set(user_ids))
        await self.add_missing([{"user_id": user_id, "balance_cents": 0} for user_id in ids])
        rows = (await self.session.execute(_LOCKED_BALANCES, {"user_ids": ids})).all()
        return {row.user_id: row.balance_cents for row in rows}

    async def debit(self, user_id: int, amount: int) -> None:
        """Take `amount` from a locked wallet, never below zero."""
        if await self.affected(_DEBIT, {"wallet_user": user_id, "amount": amount}) != 1:
            raise InsufficientFunds

    async def credit(self, user_id: int, amount: int) -> None:
        """Add `amount` to a locked wallet."""
        await self.affected(_CREDIT, {"wallet_user": user_id, "amount": amount})


NEWEST_FIRST = (LedgerEntry.id.desc(),)


def entries_before(user_id: int, before: int | None) -> list[ColumnElement[bool]]:
    """The user's entries with ids below `before` (all with None)."""
    where = [LedgerEntry.user_id == user_id]
    if before is not None:
        where.append(LedgerEntry.id < before)
    return where


class LedgerRepository(Repository[LedgerEntry]):
    model = LedgerEntry

    async def record(self, entries: Sequence[Mapping[str, Any]]) -> list[AnyRow]:
        """Write entries; the stored rows, ids ascending, in the given order."""
        return await self.insert_returning(entries)
