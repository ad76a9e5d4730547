"""Request and response bodies of the wallet. Money is integer cents, never a float."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints

from agora.api.schemas import EntityId, InputModel, OutputModel, PositiveCents
from agora.wallet.models import NOTE_MAX_LENGTH, EntryKind


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
    kind: EntryKind
    amount_cents: int
    from_user_id: int | None
    to_user_id: int | None
    note: str | None
    created_at: datetime
