"""Sessions and transactions: one `Database` hands out sessions and runs units of work.

Every unit of work, an HTTP request as much as a command-line job, goes through
`Database.run_in_transaction`: a fresh session, the work, COMMIT, and the session closed,
or ROLLBACK on any error. When the database rolled the transaction back on its own
(deadlock, serialization failure, lock timeout, a connection found dead before COMMIT),
the whole unit runs again with a new session, a bounded number of times. A connection
that dies *during* COMMIT is never retried: the change may have been applied, and doing it
twice could move money twice.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from agora.db.engine import create_engine, read_only_view
from agora.db.errors import is_retryable
from agora.errors import ServiceUnavailable

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from agora.config import Settings

T = TypeVar("T")

DEFAULT_ATTEMPTS = 5
_BACKOFF_SECONDS = 0.005


class ReadOnlySessionError(RuntimeError):
    """A session opened for reading was asked to write."""


class ReadOnlySession(Session):
    """Refuses to flush changes: reads run without a transaction on some dialects."""

    def flush(self, objects: Sequence[Any] | None = None) -> None:
        if self.new or self.dirty or self.deleted:
            raise ReadOnlySessionError("this session only reads; use a write transaction")
        super().flush(objects)


class CommitOutcomeUnknown(ServiceUnavailable):
    default_code = "commit_outcome_unknown"
    default_detail = (
        "The database connection was lost while committing; the change may or may not "
        "have been applied. Check before retrying."
    )


def _sessionmaker(bind: AsyncEngine | AsyncConnection, **options: Any) -> async_sessionmaker[Any]:
    # expire_on_commit=False: objects stay readable after COMMIT, when the response is
    # built. autoflush=False: services flush explicitly when they need ids or checks.
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False, **options)


class Database:
    """The engines of one deployment and the sessions they hand out."""

    def __init__(
        self,
        write_sessions: async_sessionmaker[AsyncSession],
        read_sessions: Sequence[async_sessionmaker[AsyncSession]],
        *,
        owned_engines: Iterable[AsyncEngine] = (),
        attempts: int = DEFAULT_ATTEMPTS,
    ) -> None:
        self._write_sessions = write_sessions
        self._read_sessions = itertools.cycle(read_sessions)
        self._owned_engines = tuple(owned_engines)
        self.attempts = attempts

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        primary = create_engine(settings.database_url, settings)
        replicas = [create_engine(url, settings) for url in settings.database_replica_urls]
        readers = [read_only_view(engine) for engine in (replicas or [primary])]
        return cls(
            _sessionmaker(primary),
            [_sessionmaker(reader, sync_session_class=ReadOnlySession) for reader in readers],
            owned_engines=[primary, *replicas],
            attempts=settings.db_transaction_attempts,
        )

    @classmethod
    def bound_to(cls, connection: AsyncConnection, *, attempts: int = DEFAULT_ATTEMPTS) -> Database:
        """Sessions that join `connection`'s transaction through SAVEPOINTs.

        Their COMMIT releases a savepoint and their ROLLBACK returns to it, so whoever owns
        `connection` (a test, a script doing a dry run) decides what is finally kept.
        """
        sessions = _sessionmaker(connection, join_transaction_mode="create_savepoint")
        return cls(sessions, [sessions], attempts=attempts)

    @property
    def engine(self) -> AsyncEngine | None:
        """The primary engine when this object owns it (None when bound to a connection)."""
        return self._owned_engines[0] if self._owned_engines else None

    def session(self, *, read_only: bool = False) -> AsyncSession:
        """A new session; the caller closes it. Prefer `transaction` or `run_in_transaction`."""
        return next(self._read_sessions)() if read_only else self._write_sessions()

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False) -> AsyncIterator[AsyncSession]:
        """``async with database.transaction() as session:`` commits, or rolls back on error.

        No retries: a block cannot be run twice. Work that may meet deadlocks belongs in
        `run_in_transaction`.
        """
        async with self.session(read_only=read_only) as session:
            yield session
            await session.commit()

    async def run_in_transaction(
        self, work: Callable[[AsyncSession], Awaitable[T]], *, read_only: bool = False
    ) -> T:
        """Run ``work(session)`` and commit, redoing it all on retryable database errors."""
        attempt = 0
        while True:
            attempt += 1
            async with self.session(read_only=read_only) as session:
                try:
                    result = await work(session)
                except DBAPIError as error:
                    if attempt < self.attempts and is_retryable(error):
                        await _back_off(attempt)
                        continue
                    raise
                try:
                    await session.commit()
                except DBAPIError as error:
                    if error.connection_invalidated:
                        raise CommitOutcomeUnknown from error
                    if attempt < self.attempts and is_retryable(error):
                        await _back_off(attempt)
                        continue
                    raise
                return result

    async def dispose(self) -> None:
        for engine in self._owned_engines:
            await engine.dispose()


async def _back_off(attempt: int) -> None:
    # Jitter keeps the transactions that just collided from colliding again in lockstep.
    await asyncio.sleep(random.uniform(0, _BACKOFF_SECONDS * 2**attempt))  # noqa: S311
