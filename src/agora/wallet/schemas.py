"""Request and response bodies of the wallet. Money is integer cents, never a float."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StrictInt, StringConstraints

from agora.api.schemas import EntityId, InputModel, OutputModel
from agora.wallet.models import NOTE_MAX_LENGTH

# Ten billion units of the currency: more in one operation is a typo, not a payment.
MAX_AMOUNT_CENTS = 10**12

# Strict: 10.0 or "10" are refused, not rounded or parsed.
PositiveCents = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT_CENTS)]


class DepositRequest(InputModel):
    user_id: EntityId
    amount_cents: PositiveCents


class TransferRequest(InputModel):
    to_user_id: EntityId
    amount_cents: PositiveCents
    note: Annotated[str, StringConstraints(max_length=NOTE_MAX_LENGTH)] | None = None


class Balance(OutputModel):
    balance_cents: int


class LedgerEntryRead(OutputModel):
    """A transaction as the API shows it (one side of a transfer per entry)."""

    id: int
    kind: str
    amount_cents: int
    from_user_id: int | None
    to_user_id: int | None
    note: str | None
    created_at: datetime
