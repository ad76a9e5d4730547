"""What a driver error means, read the same way on every dialect.

Drivers report a violated constraint or a deadlock each in their own words: asyncpg by
SQLSTATE, MariaDB by error number and message, SQLite by message. This module is the only
place that reads them; everything above it asks `violated_constraint` or `is_retryable`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sqlalchemy.exc import DataError, DBAPIError

from agora.kernel.errors import Conflict, InvalidInput, ServiceUnavailable

if TYPE_CHECKING:
    from sqlalchemy import MetaData

ConstraintKind = Literal["unique", "foreign_key", "check", "not_null"]

# PostgreSQL SQLSTATEs: serialization_failure, deadlock_detected, lock_not_available.
_PG_RETRY_CAUSES = {"40001": "serialization", "40P01": "deadlock", "55P03": "lock_timeout"}
_PG_RETRYABLE = frozenset(_PG_RETRY_CAUSES)
_PG_CONSTRAINT_KINDS: dict[str, ConstraintKind] = {
    "23505": "unique",
    "23503": "foreign_key",
    "23514": "check",
    "23502": "not_null",
}
# MariaDB/MySQL: deadlock, lock wait timeout (rolls back only the statement, so the whole
# transaction is redone), "record has changed since last read" (MariaDB snapshot isolation).
_MYSQL_RETRY_CAUSES = {1213: "deadlock", 1205: "lock_timeout", 1020: "serialization"}
_MYSQL_RETRYABLE = frozenset(_MYSQL_RETRY_CAUSES)
_MYSQL_CONSTRAINT_KINDS: dict[int, ConstraintKind] = {
    1062: "unique",
    1451: "foreign_key",
    1452: "foreign_key",
    3819: "check",
    4025: "check",
    1048: "not_null",
}
_SQLITE_RETRYABLE = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_BUSY_SNAPSHOT"})

# "The database is not available": PostgreSQL's class 08 (connection exceptions), and
# admin_shutdown, crash_shutdown, cannot_connect_now (starting up, shutting down, in
# recovery), too_many_connections.
_PG_UNAVAILABLE_CLASS = "08"
_PG_UNAVAILABLE = frozenset({"57P01", "57P02", "57P03", "53300"})
# MariaDB: too many connections (for the server, for the user, over the user's limit),
# shutdown in progress, connection killed; the client's can't connect, server gone, lost.
_MYSQL_UNAVAILABLE = frozenset({1040, 1203, 1226, 1053, 1927, 2002, 2003, 2006, 2013})

_PG_NAME = re.compile(r'constraint "(?P<name>[^"]+)"')
_MYSQL_KEY = re.compile(r"for key '(?:[^'.]+\.)?(?P<name>[^']+)'")
_MYSQL_NAMED = re.compile(r"CONSTRAINT `(?P<name>[^`]+)`")
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?P<columns>.+)$")
_SQLITE_CHECK = re.compile(r"CHECK constraint failed: (?P<name>\S+)")


@dataclass(frozen=True, slots=True)
class ConstraintViolation:
    kind: ConstraintKind
    # The constraint's name under the naming convention; None when the driver does not
    # say (SQLite never names a violated foreign key).
    name: str | None


def _mysql_errno(error: DBAPIError) -> int | None:
    args = getattr(error.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def is_retryable(error: BaseException) -> bool:
    """True when the transaction was rolled back by the database and can simply be redone."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    # MariaDB's errors carry a (generic) sqlstate too, so the error number is read first.
    if (errno := _mysql_errno(error)) is not None:
        return errno in _MYSQL_RETRYABLE
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _PG_RETRYABLE
    return getattr(error.orig, "sqlite_errorname", None) in _SQLITE_RETRYABLE


def retry_cause(error: BaseException) -> str:
    """Why a unit of work is run again, as a metric's label: ``deadlock``,
    ``serialization``, ``lock_timeout``, ``busy`` (SQLite's lock) or ``connection``
    (lost or refused)."""
    if isinstance(error, DBAPIError) and not error.connection_invalidated:
        if (errno := _mysql_errno(error)) is not None:
            return _MYSQL_RETRY_CAUSES.get(errno, "connection")
        sqlstate = getattr(error.orig, "sqlstate", None)
        if sqlstate is not None:
            return _PG_RETRY_CAUSES.get(sqlstate, "connection")
        if getattr(error.orig, "sqlite_errorname", None) in _SQLITE_RETRYABLE:
            return "busy"
    return "connection"


def is_unavailable(error: BaseException) -> bool:
    """True when the database cannot serve this connection right now: it refuses
    connections, is starting up or shutting down, has no connection left, or dropped
    this one. Nothing the client sent is wrong; a retry a moment later may succeed."""
    if isinstance(error, OSError):  # refused, unreachable, reset: before any DBAPI error
        return True
    if not isinstance(error, DBAPIError):
        # A driver's own error, raised where SQLAlchemy does not wrap it: while a new
        # pooled connection is being set up (asyncpg's type codecs), say.
        return _is_lost_by_driver(error)
    if error.connection_invalidated:
        return True
    if (errno := _mysql_errno(error)) is not None:
        return errno in _MYSQL_UNAVAILABLE
    return _is_unavailable_sqlstate(getattr(error.orig, "sqlstate", None) or "")


def _is_unavailable_sqlstate(sqlstate: str) -> bool:
    return sqlstate.startswith(_PG_UNAVAILABLE_CLASS) or sqlstate in _PG_UNAVAILABLE


def _is_lost_by_driver(error: BaseException) -> bool:
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        return _is_unavailable_sqlstate(sqlstate)
    # asyncpg's InterfaceError for a connection the server closed under it.
    return type(error).__name__ == "InterfaceError" and "connection is closed" in str(error)


def is_invalid_value(error: DBAPIError) -> bool:
    """True when the database (or the driver, before sending) refused a value as malformed
    or out of range: SQLSTATE class 22 on the server, and asyncpg's client-side DataError,
    both of which SQLAlchemy passes on as a generic DBAPIError."""
    if isinstance(error, DataError):
        return True
    sqlstate = getattr(error.orig, "sqlstate", None) or ""
    cause = error.orig.__cause__ if error.orig is not None else None
    return sqlstate.startswith("22") or type(cause).__name__ == "DataError"


def _sqlite_unique_name(columns: str, metadata: MetaData) -> str | None:
    """Map SQLite's "table.col, table.col" back to the unique constraint on those columns."""
    qualified = [part.strip().split(".", 1) for part in columns.split(",")]
    table = metadata.tables.get(qualified[0][0])
    if table is None:
        return None
    wanted = [column for _, column in qualified]
    for constraint in table.constraints:
        names = [column.name for column in getattr(constraint, "columns", ())]
        if names == wanted and constraint.name is not None:
            return str(constraint.name)
    for index in table.indexes:
        if index.unique and [column.name for column in index.columns] == wanted:
            return str(index.name)
    return None


def violated_constraint(error: DBAPIError, metadata: MetaData) -> ConstraintViolation | None:
    """Which constraint an INSERT/UPDATE broke, or None when the error is not a violation."""
    message = str(error.orig)
    if (errno := _mysql_errno(error)) is not None:
        kind = _MYSQL_CONSTRAINT_KINDS.get(errno)
        if kind is None:
            return None
        match = _MYSQL_KEY.search(message) or _MYSQL_NAMED.search(message)
        return ConstraintViolation(kind, match["name"] if match else None)
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate is not None:
        kind = _PG_CONSTRAINT_KINDS.get(sqlstate)
        if kind is None:
            return None
        # asyncpg's own exception, chained by SQLAlchemy's adapter, names the constraint.
        name = getattr(error.orig.__cause__, "constraint_name", None) if error.orig else None
        if name is None and (match := _PG_NAME.search(message)):
            name = match["name"]
        return ConstraintViolation(kind, name)
    if match := _SQLITE_UNIQUE.search(message):
        return ConstraintViolation("unique", _sqlite_unique_name(match["columns"], metadata))
    if "FOREIGN KEY constraint failed" in message:
        return ConstraintViolation("foreign_key", None)
    if match := _SQLITE_CHECK.search(message):
        return ConstraintViolation("check", match["name"])
    if "NOT NULL constraint failed" in message:
        return ConstraintViolation("not_null", None)
    return None


class DatabaseBusy(ServiceUnavailable):
    default_code = "database_busy"
    default_detail = "The service is busy; retry shortly."


class DatabaseUnavailable(ServiceUnavailable):
    default_code = "database_unavailable"
    default_detail = "The database is unavailable; retry shortly."


class CommitOutcomeUnknown(ServiceUnavailable):
    default_code = "commit_outcome_unknown"
    default_detail = (
        "The database connection was lost while committing; the change may or may not "
        "have been applied. Check before retrying."
    )


class ReadOnlySessionError(RuntimeError):
    """A session opened for reading was asked to write."""


class IdempotencyInProgress(Conflict):
    default_code = "idempotency_in_progress"
    default_detail = "A request with this Idempotency-Key is still running; retry shortly."


class IdempotencyKeyReused(InvalidInput):
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was used for a different request."
