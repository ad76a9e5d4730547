"""The ``agora`` command: serve the API, migrate the database, manage users."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, TypeVar

import typer
import uvicorn
from pydantic import SecretStr, ValidationError

from agora.auth.passwords import PasswordHasher
from agora.config import InsecureSettingsError, get_settings
from agora.db import migrations
from agora.db.engine import create_engine
from agora.db.session import Database
from agora.db.types import utc_now
from agora.errors import DomainError
from agora.idempotency.repository import IdempotencyRepository
from agora.users.schemas import UserCreate
from agora.users.service import UserService

T = TypeVar("T")

app = typer.Typer(help="agora: a community-marketplace API.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema and data.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
idempotency_app = typer.Typer(
    help="Idempotency keys of money and stock writes.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(idempotency_app, name="idempotency")


def _fail(message: str) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
) -> None:
    """Serve the HTTP API with uvicorn."""
    try:
        get_settings().check_servable()
    except InsecureSettingsError as error:
        raise _fail(f"refusing to start: {error}") from error
    uvicorn.run(
        "agora.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
        access_log=access_log,
    )


async def _with_connection(work: Callable[..., Awaitable[T]], *args: str) -> T:
    settings = get_settings()
    engine = create_engine(settings.database_url, settings)
    try:
        async with engine.connect() as connection:
            result = await work(connection, *args)
            await connection.commit()
            return result
    finally:
        await engine.dispose()


@db_app.command()
def upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Migrate the database up to REVISION (the latest by default)."""
    asyncio.run(_with_connection(migrations.upgrade, revision))
    typer.echo(f"database at {revision}")


@db_app.command()
def downgrade(revision: Annotated[str, typer.Argument(help="e.g. -1, or base")]) -> None:
    """Migrate the database down to REVISION."""
    asyncio.run(_with_connection(migrations.downgrade, revision))
    typer.echo(f"database at {revision}")


@db_app.command()
def current() -> None:
    """Show the database's migration revision and whether it is the latest."""
    revision = asyncio.run(_with_connection(migrations.current_revision))
    head = migrations.head_revision()
    state = "latest" if revision == head else f"behind; latest is {head}"
    typer.echo(f"{revision or 'not migrated'} ({state})")


async def _create_superuser(data: UserCreate) -> int:
    settings = get_settings()
    database = Database.from_settings(settings)
    hasher = PasswordHasher.from_settings(settings)
    try:
        user = await database.run_in_transaction(
            lambda session: UserService(session, hasher).register(data, is_superuser=True)
        )
    finally:
        await database.dispose()
    return user.id


@users_app.command("create-superuser")
def create_superuser(
    email: Annotated[str, typer.Option(prompt=True)],
    username: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    full_name: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create an administrator (prompts for what is not given as an option)."""
    try:
        data = UserCreate(
            email=email, username=username, password=SecretStr(password), full_name=full_name
        )
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise _fail(f"invalid input: {problems}") from error
    try:
        user_id = asyncio.run(_create_superuser(data))
    except DomainError as error:
        raise _fail(error.detail) from error
    typer.echo(f"created superuser {data.username} (id {user_id})")


async def _purge_keys(claimed_before: datetime) -> int:
    database = Database.from_settings(get_settings())
    try:
        return await database.run_in_transaction(
            lambda session: IdempotencyRepository(session).purge(claimed_before)
        )
    finally:
        await database.dispose()


@idempotency_app.command("purge")
def purge_idempotency_keys(
    older_than_hours: Annotated[
        float, typer.Option(min=0, help="Keys claimed longer ago than this are deleted.")
    ] = 24,
) -> None:
    """Delete old idempotency keys (a retry after that runs the request again)."""
    purged = asyncio.run(_purge_keys(utc_now() - timedelta(hours=older_than_hours)))
    typer.echo(f"purged {purged} idempotency keys")


def main() -> None:
    app()
