"""Balances and the ledger that explains them."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from agora.db.base import Base, IdPK, Timestamp
from agora.db.types import BigId, one_of, utc_now


class EntryKind(StrEnum):
    DEPOSIT = "deposit"
    TRANSFER = "transfer"
    PAYMENT = "payment"
    REFUND = "refund"


NOTE_MAX_LENGTH = 200


class Wallet(Base):
    """A user's balance. Created on first use; a user without one has 0."""

    __tablename__ = "wallets"
    __table_args__ = (CheckConstraint("balance_cents >= 0", name="balance_not_negative"),)

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), primary_key=True)
    balance_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class LedgerEntry(Base):
    """One change of one balance: `user_id`'s balance went up by `amount_cents` when
    `to_user_id` is that user, down otherwise. A transfer is two entries, one per side."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        one_of("kind", EntryKind, name="kind"),
        CheckConstraint("user_id = from_user_id OR user_id = to_user_id", name="party"),
        # A user's ledger, newest first, by cursor.
        Index(None, "user_id", "id"),
    )

    id: Mapped[IdPK]
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    from_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    to_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(String(NOTE_MAX_LENGTH))
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id"))
    created_at: Mapped[Timestamp] = mapped_column(default=utc_now)
