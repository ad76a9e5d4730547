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
import inspect
import itertools
import logging
import random
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from agora.db.engine import create_engine, reads_in_autocommit, snapshot_isolation
from agora.db.errors import (
    CommitOutcomeUnknown,
    DatabaseBusy,
    DatabaseUnavailable,
    ReadOnlySessionError,
    is_retryable,
    is_unavailable,
    retry_cause,
)
from agora.db.pools import report_pool
from agora.telemetry.metrics import POOL_TIMEOUTS, POOL_WAIT, UNIT_RETRIES
from agora.telemetry.traces import trace_statements

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence

    from prometheus_client import Counter, Histogram
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from agora.config import Settings

T = TypeVar("T")
AfterUnit = Callable[[], object]  # a plain function, or one returning an awaitable

logger = logging.getLogger(__name__)
_CALLBACKS = "agora.unit_callbacks"
# In a session's `info`: the SessionSource that handed it out, and a mark left by
# `without_database` when it could not take the gate back (so `release` must not give it).
_SOURCE = "agora.source"
_GATE_RETURNED = "agora.gate_returned"

DEFAULT_ATTEMPTS = 5
_BACKOFF_SECONDS = 0.005


class ReadOnlySession(Session):
    """Refuses to flush changes: reads run without a transaction on some dialects."""

    def flush(self, objects: Sequence[Any] | None = None) -> None:
        if self.new or self.dirty or self.deleted:
            raise ReadOnlySessionError("this session only reads; use a write transaction")
        super().flush(objects)


def _sessionmaker(bind: AsyncEngine | AsyncConnection, **options: Any) -> async_sessionmaker[Any]:
    # expire_on_commit=False: objects stay readable after COMMIT, when the response is
    # built. autoflush=False: services flush explicitly when they need ids or checks.
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False, **options)


@dataclass(slots=True)
class _UnitCallbacks:
    committed: list[AfterUnit] = field(default_factory=list)
    failed: list[AfterUnit] = field(default_factory=list)


def _callbacks(session: AsyncSession) -> _UnitCallbacks:
    callbacks: _UnitCallbacks | None = session.info.get(_CALLBACKS)
    if callbacks is None:
        callbacks = session.info[_CALLBACKS] = _UnitCallbacks()
    return callbacks


def after_commit(session: AsyncSession, callback: AfterUnit) -> None:
    """Run `callback` once the unit of work of `session` has committed.

    For side effects that the database cannot take back: a notification, a metric of a
    paid order. A unit that rolls back never runs its callbacks, and a unit re-run after a
    deadlock runs only those of the run that committed, so each happens exactly once. A
    callback that fails is logged; the unit stays committed.
    """
    _callbacks(session).committed.append(callback)


def after_failure(session: AsyncSession, callback: AfterUnit) -> None:
    """Run `callback` if the unit of work of `session` ends without committing: an error
    it answers with, a cancellation. A run that is redone after a deadlock or a dropped
    connection keeps its callbacks for the end of the unit: they run if no later run
    commits (so they must bear running twice), and never after a COMMIT.

    For undoing what the unit already committed ahead of its end, such as the claim of
    an idempotency key. It runs once the session is back in its pool, on connections of
    its own.
    """
    _callbacks(session).failed.append(callback)


def _take_callbacks(session: AsyncSession) -> _UnitCallbacks | None:
    """The callbacks registered on `session`, which no longer holds them (sessions are
    reused: the next unit must not inherit them)."""
    callbacks: _UnitCallbacks | None = session.info.pop(_CALLBACKS, None)
    return callbacks


async def _run(callbacks: list[AfterUnit]) -> None:
    """Run once the session is back in its pool: a slow callback holds no connection."""
    for callback in callbacks:
        try:
            outcome = callback()
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            logger.exception("a callback of a unit of work failed")


@dataclass(slots=True)
class Saturation:
    """Who waits at the gate of a `SessionSource`, and since when someone has."""

    waiting: int = 0
    since: float = 0.0


@dataclass(frozen=True, slots=True)
class SessionSource:
    """Sessions on one engine, admitted through a fair gate as large as its pool.

    SQLAlchemy's async pool hands a returned connection to whichever coroutine asks
    first, so under load a request that was already waiting can lose it to a newcomer,
    again and again (a p99 fifteen times the median). asyncio's Semaphore is first-come
    first-served, so units of work queue
    here instead and the pool itself never has waiters. Waiting longer than the pool
    timeout is `DatabaseBusy` (503), as a pool timeout would be.
    """

    sessions: async_sessionmaker[AsyncSession]
    gate: asyncio.Semaphore | None = None
    gate_timeout: float = 0.0
    # Isolation level for `Database.snapshot` sessions (None: the engine's own will do).
    snapshot_isolation: str | None = None
    # Its connections run in autocommit (PostgreSQL's read engines): a session on them
    # holds no database transaction, unless it asked for one (`Database.snapshot`).
    autocommit: bool = False
    # What the engine is for, in the metrics (`agora.db.pools`).
    role: str = "primary"
    # Closed sessions waiting for their next unit of work (see `acquire`).
    idle: list[AsyncSession] = field(default_factory=list)
    # How long units of work have been waiting at the gate without a break (`/readyz`).
    saturation: Saturation = field(default_factory=Saturation)
    # The role's metrics, bound once.
    waits: Histogram = field(init=False)
    timeouts: Counter = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "waits", POOL_WAIT.labels(self.role))  # frozen: set once
        object.__setattr__(self, "timeouts", POOL_TIMEOUTS.labels(self.role))

    async def acquire(self) -> AsyncSession:
        """A session for one unit of work, once the gate lets it in; give it back with
        `release`, whatever happens.

        A closed session taken back into use, or a new one. A closed session holds
        nothing (no objects, no connection, no transaction) and SQLAlchemy documents it
        as reusable, while building one is a noticeable part of a small read.
        """
        await self.pass_gate()
        if self.idle:
            return self.idle.pop()
        session = self.sessions()
        session.info[_SOURCE] = self
        return session

    async def release(self, session: AsyncSession, *, quiet: bool = False) -> None:
        """Close `session` (returning its connection to the pool) and keep it for reuse.

        The close is shielded from cancellation, as AsyncSession's own ``async with``
        does, so that a client going away cannot cut a ROLLBACK short and keep the
        connection from the pool. Unless the caller knows the close is `quiet`: it sends
        nothing to the database (no transaction is open there), so it never waits and
        cannot be cancelled, and the shield's task would buy nothing. A session whose
        close failed is dropped.
        """
        try:
            await (session.close() if quiet else asyncio.shield(session.close()))
            self.idle.append(session)
        finally:
            if self.gate is not None and not session.info.pop(_GATE_RETURNED, False):
                self.gate.release()

    @asynccontextmanager
    async def open(self) -> AsyncIterator[AsyncSession]:
        session = await self.acquire()
        try:
            yield session
        finally:
            await self.release(session)

    def saturated_for(self) -> float:
        """Seconds for which someone has been waiting at the gate, without a moment
        when no one was (0 when no one waits)."""
        if self.saturation.waiting == 0:
            return 0.0
        return time.perf_counter() - self.saturation.since

    async def pass_gate(self) -> None:
        """Take a place at the gate, waiting at most the pool timeout (`DatabaseBusy`)."""
        gate = self.gate
        if gate is None:
            return
        if not gate.locked():
            await gate.acquire()  # free: returns at once, no timer needed
            self.waits.observe(0.0)
            return
        started = time.perf_counter()
        saturation = self.saturation
        if saturation.waiting == 0:
            saturation.since = started
        saturation.waiting += 1
        try:
            async with asyncio.timeout(self.gate_timeout):
                await gate.acquire()
        except TimeoutError:
            self.timeouts.inc()
            raise DatabaseBusy from None
        finally:
            saturation.waiting -= 1
            self.waits.observe(time.perf_counter() - started)


@asynccontextmanager
async def without_database(session: AsyncSession) -> AsyncIterator[None]:
    """Hold no connection, no transaction and no place in the pool while the block runs.

    For slow work in the middle of a unit of work that needs no database, such as hashing
    a password: the transaction so far is committed (so call it before the unit writes
    anything: its reads are all it should hold), the connection goes back to the pool and
    the unit's place at the gate to whoever waits. When the block ends they are taken
    again, which is `DatabaseBusy` past the pool timeout; a block that raises ends the
    unit without waiting for them. Objects the session loaded stay readable and can
    still be changed; the unit commits the rest as usual.
    """
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("without_database() would commit the session's pending changes")
    if session.in_transaction():
        await session.commit()
    source: SessionSource | None = session.info.get(_SOURCE)
    if source is None or source.gate is None:
        yield
        return
    source.gate.release()
    session.info[_GATE_RETURNED] = True
    yield  # if the block raises, the mark stays and `release` gives back no gate
    await source.pass_gate()
    del session.info[_GATE_RETURNED]


def _gated_source(
    engine: AsyncEngine, settings: Settings, *, read_only: bool, role: str
) -> SessionSource:
    sessions = _sessionmaker(engine, sync_session_class=ReadOnlySession if read_only else Session)
    isolation = snapshot_isolation(engine)
    autocommit = read_only and reads_in_autocommit(engine.dialect.name)
    report_pool(engine, role)
    if settings.tracing_enabled:
        trace_statements(engine.sync_engine, role)
    if not isinstance(engine.pool, QueuePool):
        # e.g. SQLite in memory: one shared connection, nothing to queue for
        return SessionSource(
            sessions, snapshot_isolation=isolation, autocommit=autocommit, role=role
        )
    capacity = settings.db_pool_size + settings.db_max_overflow
    gate = asyncio.Semaphore(capacity)
    return SessionSource(sessions, gate, settings.db_pool_timeout, isolation, autocommit, role)


class Database:
    """The engines of one deployment and the sessions they hand out."""

    def __init__(
        self,
        writer: SessionSource,
        readers: Sequence[SessionSource],
        *,
        exports: SessionSource | None = None,
        owned_engines: Iterable[AsyncEngine] = (),
        attempts: int = DEFAULT_ATTEMPTS,
    ) -> None:
        self._writer = writer
        self._readers = itertools.cycle(readers)
        self._all_readers = tuple(readers)
        # Long reads (`snapshot`) have a pool of their own: however many are streaming,
        # the requests' pools stay free. Without one, they share the first reader's.
        self._exports = exports or readers[0]
        self._owned_engines = tuple(owned_engines)
        self.attempts = attempts

    def saturated_pools(self, longer_than: float) -> dict[str, float]:
        """The request pools (the primary's and each reader's) on which no connection has
        been free for more than `longer_than` seconds, by role, with how long."""
        return {
            source.role: seconds
            for source in (self._writer, *self._all_readers)
            if (seconds := source.saturated_for()) > longer_than
        }

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        primary = create_engine(settings.database_url, settings)
        read_urls = settings.database_replica_urls or [settings.database_url]
        readers = [create_engine(url, settings, read_only=True) for url in read_urls]
        export_pool = settings.model_copy(
            update={"db_pool_size": settings.export_concurrency, "db_max_overflow": 0}
        )
        exports = create_engine(read_urls[0], export_pool, read_only=True)
        reader_roles = (
            [f"replica-{number}" for number in range(1, len(readers) + 1)]
            if settings.database_replica_urls
            else ["reader"]
        )
        return cls(
            _gated_source(primary, settings, read_only=False, role="primary"),
            [
                _gated_source(reader, settings, read_only=True, role=role)
                for reader, role in zip(readers, reader_roles, strict=True)
            ],
            exports=_gated_source(exports, export_pool, read_only=True, role="exports"),
            owned_engines=[primary, *readers, exports],
            attempts=settings.db_transaction_attempts,
        )

    @classmethod
    def bound_to(cls, connection: AsyncConnection, *, attempts: int = DEFAULT_ATTEMPTS) -> Database:
        """Sessions that join `connection`'s transaction through SAVEPOINTs.

        Their COMMIT releases a savepoint and their ROLLBACK returns to it, so whoever owns
        `connection` (a test, a script doing a dry run) decides what is finally kept.
        """
        source = SessionSource(_sessionmaker(connection, join_transaction_mode="create_savepoint"))
        return cls(source, [source], attempts=attempts)

    @property
    def engines(self) -> tuple[AsyncEngine, ...]:
        """The engines this object owns: the primary first, then the read engines, then
        the exports' (none when bound to a connection)."""
        return self._owned_engines

    def session(self, *, read_only: bool = False) -> AsyncSession:
        """A new session outside the gate; the caller closes it. Prefer `transaction` or
        `run_in_transaction`."""
        source = next(self._readers) if read_only else self._writer
        return source.sessions()

    def _source(self, read_only: bool) -> SessionSource:
        return next(self._readers) if read_only else self._writer

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False) -> AsyncIterator[AsyncSession]:
        """``async with database.transaction() as session:`` commits, or rolls back on error.

        No retries: a block cannot be run twice. Work that may meet deadlocks belongs in
        `run_in_transaction`.
        """
        source = self._source(read_only)
        session = await source.acquire()
        committed = False
        try:
            yield session
            if not read_only:
                await session.commit()
            committed = True
        finally:
            callbacks = _take_callbacks(session)
            await source.release(session)
            if callbacks is not None:
                await _run(callbacks.committed if committed else callbacks.failed)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncSession]:
        """A read-only session over one consistent snapshot, for long reads such as
        exports: it can stream a result through a server-side cursor
        (``session.stream(...)``) without holding it all in memory.

        Its connection comes from the exports' own pool (``AGORA_EXPORT_CONCURRENCY``),
        and is taken before the block starts: `DatabaseBusy` past the pool timeout, or
        the database's own error, before anything has been streamed."""
        source = self._exports
        async with source.open() as session:
            isolation = source.snapshot_isolation
            options = {} if isolation is None else {"isolation_level": isolation}
            await session.connection(execution_options=options)
            yield session

    async def run_in_transaction(
        self, work: Callable[[AsyncSession], Awaitable[T]], *, read_only: bool = False
    ) -> T:
        """Run ``work(session)`` and commit, redoing it all on retryable database errors.

        A read-only unit is not committed: its session is closed, which is all a read
        needs (there is no transaction at all on PostgreSQL's autocommit read engine).
        """
        attempt = 0
        failed_runs: list[AfterUnit] = []  # `after_failure` callbacks of runs redone
        while True:
            attempt += 1
            if attempt > 1:  # after the last run gave its session back
                await _back_off(attempt - 1)
            source = self._source(read_only)
            # acquire/release rather than `source.open()`: this runs for every request,
            # and each context-manager layer costs more than the few lines it saves.
            session = await source.acquire()
            committed = run_again = False
            try:
                try:
                    result = await work(session)
                except Exception as error:
                    if attempt < self.attempts and _can_run_again(error):
                        UNIT_RETRIES.labels(retry_cause(error)).inc()
                        run_again = True
                        continue
                    if is_unavailable(error):
                        logger.warning("database unavailable: %s", error)
                        raise DatabaseUnavailable from error
                    raise
                if not read_only:
                    try:
                        await session.commit()
                    except Exception as error:
                        if is_unavailable(error):
                            raise CommitOutcomeUnknown from error
                        if attempt < self.attempts and is_retryable(error):
                            UNIT_RETRIES.labels(retry_cause(error)).inc()
                            run_again = True
                            continue
                        raise
                committed = True  # a read-only unit has nothing to commit: it ended well
            finally:
                callbacks = _take_callbacks(session)
                # Quiet when committed, or when it ran on autocommit (read) connections.
                quiet = source.autocommit or not session.in_transaction()
                await source.release(session, quiet=quiet)
                if callbacks is not None and run_again:
                    failed_runs += callbacks.failed  # run if no later run commits
                elif committed:
                    if callbacks is not None:
                        await _run(callbacks.committed)
                elif callbacks is not None or failed_runs:
                    await _run(failed_runs + (callbacks.failed if callbacks else []))
            return result

    async def dispose(self) -> None:
        for engine in self._owned_engines:
            await engine.dispose()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        """``async with Database.from_settings(...) as database:`` disposes the engines
        (and their pools) at the end of a job."""
        await self.dispose()


def _can_run_again(error: BaseException) -> bool:
    """The database rolled the unit back (a deadlock, a dropped or refused connection),
    so running it again from the start is safe."""
    return is_retryable(error) or is_unavailable(error)


async def _back_off(attempt: int) -> None:
    # Jitter keeps the transactions that just collided from colliding again in lockstep.
    await asyncio.sleep(random.uniform(0, _BACKOFF_SECONDS * 2**attempt))  # noqa: S311
