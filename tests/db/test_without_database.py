"""`without_database`: a unit of work that steps aside for slow work holds nothing meanwhile."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora.config import Settings
from agora.db.errors import DatabaseBusy
from agora.db.session import Database, without_database
from agora.users.models import User
from tests.databases import empty_all_tables


def new_user(name: str) -> User:
    return User(email=f"{name}@example.com", username=name, hashed_password="x")


@pytest.fixture
async def one_slot(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Database]:
    """A database whose pool and gate hold a single connection."""
    settings = settings.model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": 0.5}
    )
    async with Database.from_settings(settings) as database:
        yield database
    await empty_all_tables(engine)


async def test_another_unit_runs_while_one_steps_aside(one_slot: Database) -> None:
    """On a pool of one, the unit that stepped aside lets another run to its COMMIT (on
    SQLite: it let go of the write lock), then goes on with what it had loaded."""
    stepped_aside = asyncio.Event()
    other_done = asyncio.Event()

    async def patient(session: AsyncSession) -> str:
        session.add(new_user("first"))
        await session.flush()
        first = await session.scalar(select(User).where(User.username == "first"))
        assert first is not None
        async with without_database(session):
            stepped_aside.set()
            await other_done.wait()
        first.full_name = "changed after the pause"
        session.add(new_user("third"))
        await session.flush()
        return first.full_name

    async def other(session: AsyncSession) -> None:
        session.add(new_user("second"))
        await session.flush()

    unit = asyncio.create_task(one_slot.run_in_transaction(patient))
    await stepped_aside.wait()
    await one_slot.run_in_transaction(other)  # would be DatabaseBusy after 0.5 s otherwise
    other_done.set()
    assert await unit == "changed after the pause"

    async with one_slot.transaction(read_only=True) as session:
        names = set(await session.scalars(select(User.username)))
        first = await session.scalar(select(User).where(User.username == "first"))
    assert names == {"first", "second", "third"}
    assert first is not None
    assert first.full_name == "changed after the pause"


async def count_users(database: Database) -> int:
    async with database.transaction(read_only=True) as session:
        return (await session.execute(select(func.count()).select_from(User))).scalar_one()


async def test_a_block_that_fails_gives_back_no_place_twice(one_slot: Database) -> None:
    """The unit ends at once; the gate still admits exactly one unit afterwards."""

    async def failing(session: AsyncSession) -> None:
        await session.execute(select(func.count()).select_from(User))
        async with without_database(session):
            raise LookupError("wrong password")

    with pytest.raises(LookupError):
        await one_slot.run_in_transaction(failing)
    await assert_admits_exactly_one(one_slot)


async def test_no_place_to_come_back_to_is_database_busy(one_slot: Database) -> None:
    hog_started = asyncio.Event()
    release_hog = asyncio.Event()
    hogs: list[asyncio.Task[None]] = []

    async def stepping_aside(session: AsyncSession) -> None:
        async with without_database(session):
            hogs.append(asyncio.create_task(one_slot.run_in_transaction(hogging)))
            await hog_started.wait()
        raise AssertionError("came back without a place")

    async def hogging(session: AsyncSession) -> None:
        await session.execute(select(func.count()).select_from(User))
        hog_started.set()
        await release_hog.wait()

    with pytest.raises(DatabaseBusy):
        await one_slot.run_in_transaction(stepping_aside)
    release_hog.set()
    await hogs[0]
    await assert_admits_exactly_one(one_slot)


async def assert_admits_exactly_one(database: Database) -> None:
    inside = asyncio.Event()
    leave = asyncio.Event()

    async def holding(session: AsyncSession) -> None:
        await session.execute(select(func.count()).select_from(User))
        inside.set()
        await leave.wait()

    holder = asyncio.create_task(database.run_in_transaction(holding, read_only=False))
    await inside.wait()
    with pytest.raises(DatabaseBusy):
        await database.run_in_transaction(lambda session: asyncio.sleep(0))
    leave.set()
    await holder
    assert await count_users(database) == 0


async def test_pending_changes_are_refused(live_database: Database) -> None:
    async def careless(session: AsyncSession) -> None:
        session.add(new_user("pending"))
        async with without_database(session):
            pass

    with pytest.raises(RuntimeError, match="pending changes"):
        await live_database.run_in_transaction(careless)
    assert await count_users(live_database) == 0
