"""The database matrix and the per-test fixtures.

Every test that takes `client`, `database` or `connection` runs three times: on SQLite,
PostgreSQL and MariaDB (markers ``sqlite``, ``postgresql``, ``mariadb`` select them).
Each pytest worker gets its own database per dialect, created empty and brought to the
latest revision with ``alembic upgrade head`` (so the migrations run on every test run).

Isolation: a test runs inside an outer transaction that is rolled back at its end. The
app's sessions join it with ``join_transaction_mode="create_savepoint"``, so the app's own
COMMITs and ROLLBACKs stay inside the test. Every request gets a new session, so nothing
a fixture loaded can hide a missing eager load; the client also expunges the fixture
session before each request.

Tests that need real commits and concurrency (``live_database``) use their own engine and
empty the tables afterwards.

A server that cannot be reached is skipped with the reason, or fails the run when the
environment variable CI is set.
"""

import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

import agora.models  # noqa: F401  (every table on Base.metadata)
from agora.config import Settings
from agora.db import migrations
from agora.db.base import Base
from agora.db.engine import create_engine, run_on_connection
from agora.db.session import Database
from agora.main import create_app
from agora.users.passwords import PasswordHasher
from agora.users.schemas import UserCreate
from agora.users.service import UserService

pytest_plugins = ["tests.money"]

IN_CI = bool(os.environ.get("CI"))
SERVER_URLS = {
    "postgresql": os.environ.get(
        "AGORA_TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    ),
    "mariadb": os.environ.get(
        "AGORA_TEST_MARIADB_URL", "mysql+aiomysql://root@127.0.0.1:3306/test"
    ),
}
DIALECTS = ["sqlite", "postgresql", "mariadb"]
PASSWORD = "correct horse battery"


def make_settings(database_url: str | URL, **overrides: Any) -> Settings:
    """Settings for tests: cheap argon2, a fixed secret, nothing read from a .env file."""
    if isinstance(database_url, URL):
        database_url = database_url.render_as_string(hide_password=False)
    values: dict[str, Any] = {
        "database_url": database_url,
        "argon2_time_cost": 1,
        "argon2_memory_cost_kib": 8,
        "argon2_parallelism": 1,
        "jwt_secret": SecretStr("test-secret-" + "x" * 32),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


async def _recreate_server_database(server_url: str, name: str) -> URL:
    """Drop and create database `name` on the server; return its URL."""
    admin = create_engine(server_url, make_settings(server_url))
    try:
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            if admin.dialect.name == "postgresql":
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
            else:
                await connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
                await connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    finally:
        await admin.dispose()
    return make_url(server_url).set(database=name)


async def _drop_server_database(server_url: str, name: str) -> None:
    admin = create_engine(server_url, make_settings(server_url))
    try:
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            quoted = f'"{name}" WITH (FORCE)' if admin.dialect.name == "postgresql" else f"`{name}`"
            await connection.execute(text(f"DROP DATABASE IF EXISTS {quoted}"))
    finally:
        await admin.dispose()


async def empty_database_url(dialect: str, suffix: str, tmp_dir: Path) -> URL:
    """A new, empty database of `dialect` for this worker; skips (or fails in CI) if down."""
    name = f"agora_test_{_worker()}_{suffix}"
    if dialect == "sqlite":
        path = tmp_dir / f"{name}.db"
        path.unlink(missing_ok=True)
        return make_url(f"sqlite+aiosqlite:///{path}")
    try:
        return await _recreate_server_database(SERVER_URLS[dialect], name)
    except Exception as error:
        reason = f"{dialect} server unreachable at {SERVER_URLS[dialect]}: {error}"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``@pytest.mark.dialects("postgresql", ...)`` keeps a test to those databases."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("dialects")
        params = getattr(item, "callspec", None)
        dialect = params.params.get("dialect") if params else None
        if marker is not None and dialect is not None and dialect not in marker.args:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(
    scope="session",
    params=[pytest.param(dialect, marks=getattr(pytest.mark, dialect)) for dialect in DIALECTS],
)
def dialect(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="session")
async def database_url(
    dialect: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[URL]:
    """This worker's test database for `dialect`, migrated to head once per run."""
    url = await empty_database_url(dialect, "main", tmp_path_factory.getbasetemp())
    await run_on_connection(url, make_settings(url), migrations.upgrade)
    yield url
    if dialect != "sqlite":
        await _drop_server_database(SERVER_URLS[dialect], url.database or "")


@pytest.fixture(scope="session")
def settings(database_url: URL) -> Settings:
    return make_settings(database_url)


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url, settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back when the test ends."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        if transaction.is_active:
            await transaction.rollback()


@pytest.fixture
def database(connection: AsyncConnection) -> Database:
    return Database.bound_to(connection)


@pytest.fixture
async def session(database: Database) -> AsyncIterator[AsyncSession]:
    """A session for the test's own reads and setup, inside the rolled-back transaction."""
    async with database.session() as session:
        yield session


@pytest.fixture
def app(settings: Settings, database: Database) -> Any:
    return create_app(settings, database=database)


@pytest.fixture
async def client(app: Any, session: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:
    async def expunge_fixture_session(_request: httpx.Request) -> None:
        session.expunge_all()

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://agora.test",
        event_hooks={"request": [expunge_fixture_session]},
    ) as client:
        yield client


@dataclass
class Account:
    """A registered user as a test sees it: its private view and its auth header."""

    id: int
    username: str
    email: str
    password: str
    headers: dict[str, str] = field(default_factory=dict)


class Accounts:
    """Registers users through the API (and admins through the service, like the CLI)."""

    def __init__(self, client: httpx.AsyncClient, database: Database, settings: Settings):
        self.client = client
        self.database = database
        self.hasher = PasswordHasher.from_settings(settings)
        self._count = 0

    def _next_name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    async def login(self, login: str, password: str = PASSWORD) -> dict[str, str]:
        response = await self.client.post(
            "/api/v1/auth/token", data={"username": login, "password": password}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def user(self, username: str | None = None, **fields: Any) -> Account:
        username = username or self._next_name("user")
        body = {"email": f"{username}@example.com", "username": username, "password": PASSWORD}
        body.update(fields)
        response = await self.client.post("/api/v1/users", json=body)
        assert response.status_code == 201, response.text
        created = response.json()
        return Account(
            created["id"],
            created["username"],
            created["email"],
            body["password"],
            await self.login(created["username"], body["password"]),
        )

    async def admin(self, username: str | None = None) -> Account:
        username = username or self._next_name("admin")
        data = UserCreate(
            email=f"{username}@example.com", username=username, password=SecretStr(PASSWORD)
        )
        user = await self.database.run_in_transaction(
            lambda session: UserService(session).register(data, self.hasher, is_superuser=True)
        )
        return Account(user.id, user.username, user.email, PASSWORD, await self.login(username))


@pytest.fixture
def accounts(client: httpx.AsyncClient, database: Database, settings: Settings) -> Accounts:
    return Accounts(client, database, settings)


class StatementCounter:
    """Counts the SQL statements a block sends, savepoint bookkeeping excluded."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, *args: Any) -> None:
        statement: str = args[2]
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


CountStatements = Callable[[], AbstractContextManager[StatementCounter]]


@pytest.fixture
def count_statements(connection: AsyncConnection) -> CountStatements:
    """``with count_statements() as counter: ...``; then ``counter.count``."""

    @contextmanager
    def counting() -> Iterator[StatementCounter]:
        counter = StatementCounter()
        event.listen(connection.sync_connection, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(connection.sync_connection, "before_cursor_execute", counter)

    return counting


async def empty_all_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())


@pytest.fixture
async def live_database(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Database]:
    """A real Database that commits, for concurrency tests; the tables are emptied after."""
    async with Database.from_settings(settings) as database:
        yield database
    await empty_all_tables(engine)


@pytest.fixture
async def live_client(
    settings: Settings, live_database: Database
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database=live_database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://agora.test") as client:
        yield client


@pytest.fixture
def live_accounts(
    live_client: httpx.AsyncClient, live_database: Database, settings: Settings
) -> Accounts:
    """`accounts` for tests on the committing app (`live_client`, `live_database`)."""
    return Accounts(live_client, live_database, settings)


async def kill_other_connections(engine: AsyncEngine) -> int:
    """Terminate every other server connection to this database, as a restart would."""
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        if engine.dialect.name == "postgresql":
            result = await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            return len(result.all())
        ids = (
            await connection.execute(
                text(
                    "SELECT id FROM information_schema.processlist "
                    "WHERE db = DATABASE() AND id <> CONNECTION_ID()"
                )
            )
        ).scalars()
        killed = 0
        for connection_id in ids:
            await connection.execute(text(f"KILL {int(connection_id)}"))
            killed += 1
        return killed
