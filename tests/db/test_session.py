"""Units of work: commit, rollback, retries, dead connections, read-only sessions."""

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora.config import Settings
from agora.db.errors import CommitOutcomeUnknown, ReadOnlySessionError
from agora.db.session import Database, after_commit, after_failure
from agora.kernel.errors import Conflict
from agora.users.models import User
from tests.databases import empty_all_tables, kill_other_connections

# SQLite has no server connection to lose.
server_only = pytest.mark.dialects("postgresql", "mariadb")


def new_user(name: str) -> User:
    return User(email=f"{name}@example.com", username=name, hashed_password="x")


async def count_users(database: Database) -> int:
    async with database.transaction(read_only=True) as session:
        return (await session.execute(select(func.count()).select_from(User))).scalar_one()


async def test_a_unit_of_work_commits(live_database: Database) -> None:
    async def work(session: AsyncSession) -> int:
        user = new_user("kept")
        session.add(user)
        await session.flush()
        return user.id

    user_id = await live_database.run_in_transaction(work)
    async with live_database.transaction(read_only=True) as session:
        assert (await session.get(User, user_id)) is not None


async def test_after_commit_callbacks_run_once_committed_and_never_on_rollback(
    live_database: Database,
) -> None:
    ran: list[str] = []

    async def notify(name: str) -> None:
        ran.append(name)

    async def kept(session: AsyncSession) -> None:
        after_commit(session, lambda: ran.append("plain"))
        after_commit(session, lambda: notify("awaited"))
        assert ran == [], "nothing runs before COMMIT"

    async def refused(session: AsyncSession) -> None:
        after_commit(session, lambda: ran.append("refused"))
        raise Conflict("changed my mind")

    def broken() -> None:
        raise RuntimeError("a failing callback")

    async def with_broken_callback(session: AsyncSession) -> int:
        after_commit(session, broken)
        after_commit(session, lambda: ran.append("after the broken one"))
        return 7

    await live_database.run_in_transaction(kept)
    with pytest.raises(Conflict):
        await live_database.run_in_transaction(refused)
    # A callback that fails is logged; the unit stays committed and the others run.
    assert await live_database.run_in_transaction(with_broken_callback) == 7
    async with live_database.transaction() as session:
        after_commit(session, lambda: ran.append("transaction()"))
    assert ran == ["plain", "awaited", "after the broken one", "transaction()"]


class DeadlockDetected(Exception):
    """What a driver raises for a deadlock, as `agora.db.errors` reads it."""

    sqlstate = "40P01"


async def test_after_failure_callbacks_run_when_no_run_of_the_unit_commits(
    live_database: Database,
) -> None:
    """A run redone after a deadlock keeps its callbacks: they run if the unit finally
    fails, never if a later run commits."""
    ran: list[str] = []

    def deadlock_for(runs: int, outcome: Exception | None) -> Callable[[AsyncSession], Any]:
        attempts = iter(range(runs + 1))

        async def work(session: AsyncSession) -> None:
            number = next(attempts)
            after_failure(session, lambda: ran.append(f"failed run {number}"))
            after_commit(session, lambda: ran.append(f"committed run {number}"))
            if number < runs:
                raise OperationalError("UPDATE", {}, DeadlockDetected())
            if outcome is not None:
                raise outcome

        return work

    await live_database.run_in_transaction(deadlock_for(2, None))
    assert ran == ["committed run 2"]
    ran.clear()
    with pytest.raises(Conflict):
        await live_database.run_in_transaction(deadlock_for(1, Conflict("no")))
    assert ran == ["failed run 0", "failed run 1"]
    ran.clear()

    async def refused_block() -> None:
        async with live_database.transaction() as session:
            after_failure(session, lambda: ran.append("transaction()"))
            raise Conflict("no")

    with pytest.raises(Conflict):
        await refused_block()
    assert ran == ["transaction()"]


async def test_an_error_rolls_everything_back(live_database: Database) -> None:
    async def work(session: AsyncSession) -> None:
        session.add(new_user("lost"))
        await session.flush()
        raise Conflict("changed my mind")

    with pytest.raises(Conflict):
        await live_database.run_in_transaction(work)
    assert await count_users(live_database) == 0


async def test_a_reused_session_keeps_nothing_of_its_last_unit_of_work(
    live_database: Database,
) -> None:
    """Closed sessions are taken back into use: the next unit of work on one must find
    none of the objects, pending changes or transaction of the last."""
    used: list[AsyncSession] = []

    async def fail_after_writing(session: AsyncSession) -> None:
        used.append(session)
        session.add(new_user("abandoned"))
        await session.flush()
        raise Conflict("changed my mind")

    async def look(session: AsyncSession) -> tuple[int, bool, bool]:
        used.append(session)
        return len(session.identity_map), session.in_transaction(), bool(session.new)

    with pytest.raises(Conflict):
        await live_database.run_in_transaction(fail_after_writing)
    assert await live_database.run_in_transaction(look) == (0, False, False)
    assert used[0] is used[1]
    assert await count_users(live_database) == 0


@pytest.mark.parametrize("read_only", [False, True], ids=["write", "read"])
async def test_a_cancelled_unit_of_work_gives_its_connection_back(
    settings: Settings, engine: AsyncEngine, read_only: bool
) -> None:
    """A request whose client goes away is cancelled mid-work; its connection must go
    back to the pool, its writes must not be kept, and the next unit must run, even on a
    pool of one."""
    one_connection = settings.model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": 2.0}
    )
    started = asyncio.Event()

    async def abandoned(session: AsyncSession) -> None:
        await session.execute(select(func.count()).select_from(User))
        if not read_only:
            session.add(new_user("abandoned"))
            await session.flush()
        started.set()
        await asyncio.Event().wait()  # until cancelled

    try:
        async with Database.from_settings(one_connection) as database:
            unit = asyncio.create_task(database.run_in_transaction(abandoned, read_only=read_only))
            await started.wait()
            unit.cancel()
            with pytest.raises(asyncio.CancelledError):
                await unit
            for _ in range(3):  # each would wait out the pool timeout if the connection leaked
                assert await count_users(database) == 0
    finally:
        await empty_all_tables(engine)  # had the abandoned write been kept after all


async def test_read_only_sessions_refuse_to_write(live_database: Database) -> None:
    async with live_database.transaction(read_only=True) as session:
        session.add(new_user("sneaky"))
        with pytest.raises(ReadOnlySessionError):
            await session.flush()
    assert await count_users(live_database) == 0


async def test_crossing_transactions_both_complete(live_database: Database, dialect: str) -> None:
    """Two units lock the same rows in opposite orders: a deadlock on a server database,
    which is retried; SQLite's BEGIN IMMEDIATE makes the second wait instead."""
    first, second = new_user("first"), new_user("second")
    async with live_database.transaction() as session:
        session.add_all([first, second])
    attempts: Counter[str] = Counter()
    holding = {"a": asyncio.Event(), "b": asyncio.Event()}

    committed: list[str] = []

    def crossing(me: str, other: str, rows: tuple[int, int]) -> object:
        async def work(session: AsyncSession) -> None:
            attempts[me] += 1
            after_commit(session, lambda: committed.append(me))
            await session.execute(
                update(User).where(User.id == rows[0]).values(full_name=f"by {me}")
            )
            holding[me].set()
            # On SQLite the other unit is waiting for our lock: give up waiting and commit.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(holding[other].wait(), timeout=1)
            await session.execute(
                update(User).where(User.id == rows[1]).values(full_name=f"by {me}")
            )

        return work

    await asyncio.gather(
        live_database.run_in_transaction(crossing("a", "b", (first.id, second.id))),  # type: ignore[arg-type]
        live_database.run_in_transaction(crossing("b", "a", (second.id, first.id))),  # type: ignore[arg-type]
    )
    async with live_database.transaction(read_only=True) as session:
        names = set((await session.execute(select(User.full_name))).scalars())
    # Whoever committed last wrote both rows: the two writes never interleave.
    assert names in ({"by a"}, {"by b"})
    if dialect != "sqlite":
        assert attempts.total() > 2, "the deadlock victim was run again"
    # Each unit's after-commit callback ran once, the re-run victim's included.
    assert sorted(committed) == ["a", "b"]


@server_only
async def test_dead_pooled_connections_are_replaced_and_the_work_retried(
    live_database: Database, engine: AsyncEngine
) -> None:
    async def work(session: AsyncSession) -> int:
        return (await session.execute(select(func.count()).select_from(User))).scalar_one()

    await asyncio.gather(*(live_database.run_in_transaction(work) for _ in range(4)))
    assert await kill_other_connections(engine) >= 1
    results = await asyncio.gather(*(live_database.run_in_transaction(work) for _ in range(4)))
    assert results == [0, 0, 0, 0]


@server_only
async def test_a_connection_lost_during_commit_is_not_retried(
    live_database: Database, engine: AsyncEngine
) -> None:
    attempts = 0

    async def work(session: AsyncSession) -> None:
        nonlocal attempts
        attempts += 1
        session.add(new_user("maybe"))
        await session.flush()
        # The server goes away after the INSERT, before COMMIT.
        await kill_other_connections(engine)

    with pytest.raises(CommitOutcomeUnknown):
        await live_database.run_in_transaction(work)
    assert attempts == 1


@pytest.mark.dialects("sqlite")
async def test_sqlite_write_transactions_take_the_write_lock_up_front(
    live_database: Database,
) -> None:
    async with live_database.transaction() as session:
        await session.execute(text("SELECT 1"))
        raw = await (await session.connection()).get_raw_connection()
        # A deferred BEGIN would leave SQLite outside a write transaction here.
        assert raw.driver_connection is not None
        assert raw.driver_connection.in_transaction
