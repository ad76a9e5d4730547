"""The declarative base, the constraint naming convention, reusable columns and mixins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from agora.db.types import BigId, UTCDateTime, utc_now

# Named constraints from the first revision on: migrations can drop and alter them by
# name on every dialect, and `agora.db.errors` maps a violated constraint back to a
# domain error by that name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(AsyncAttrs, DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


IdPK = Annotated[int, mapped_column(BigId, primary_key=True)]
Timestamp = Annotated[datetime, mapped_column(UTCDateTime())]


class TimestampMixin:
    """``created_at`` and ``updated_at``, set in Python so a flush never needs a re-read."""

    created_at: Mapped[Timestamp] = mapped_column(default=utc_now)
    updated_at: Mapped[Timestamp] = mapped_column(default=utc_now, onupdate=utc_now)


class SoftDeleteMixin:
    """Rows are marked deleted instead of removed; repositories hide them by default."""

    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def mark_deleted(self) -> None:
        self.deleted_at = utc_now()
