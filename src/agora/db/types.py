"""Column types that behave the same on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Integer, String, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator, TypeEngine

if TYPE_CHECKING:
    from enum import StrEnum

    from sqlalchemy.engine import Dialect

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")
MAX_ID = 2**63 - 1
# Text up to 16 MiB everywhere: MariaDB's TEXT stops at 64 KiB, too short for a long
# assistant answer or a pasted document.
LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def exact_string(length: int) -> TypeEngine[str]:
    """A VARCHAR compared byte for byte on every database.

    MariaDB's default collation ignores case, accents and trailing spaces, so "Café" and
    "cafe" would be one value to a unique index there and two elsewhere. For values whose
    identity matters (tag names), this makes MariaDB behave like PostgreSQL and SQLite.
    """
    return String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in and out, on every database.

    PostgreSQL stores ``timestamptz``. MariaDB's DATETIME and SQLite have no zone, so the
    value is stored as naive UTC and comes back tagged UTC; MariaDB gets microseconds
    (``DATETIME(6)``) so that ordering by time is as fine-grained as elsewhere. Naive
    input is refused: a naive datetime is a bug waiting for a server in another zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime refuses naive datetimes; pass an aware one")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def one_of(column: str, values: type[StrEnum], *, name: str) -> CheckConstraint:
    """``CHECK (column IN (...))`` with the values of a `StrEnum`: the database refuses
    what the schemas and the code cannot name."""
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)
