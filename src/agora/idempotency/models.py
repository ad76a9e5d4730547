"""Idempotency keys: a retried write replays its first answer instead of running again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agora.db.base import Base, Timestamp
from agora.db.types import BigId, UTCDateTime, utc_now

KEY_MAX_LENGTH = 255


class IdempotencyRecord(Base):
    """One key of one user: claimed by a request (its `claim_token`), then completed
    with the response that request gave."""

    __tablename__ = "idempotency_records"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH), primary_key=True)
    # SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    claim_token: Mapped[str] = mapped_column(String(32))
    claimed_at: Mapped[Timestamp] = mapped_column(default=utc_now)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
