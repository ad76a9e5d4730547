"""The ``agora`` command: serve the API, migrate, seed, import and export the database,
manage users, their sessions and idempotency keys."""

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import IO, Annotated, Any, TypeVar

import typer
import uvicorn
from pydantic import SecretStr, ValidationError
from sqlalchemy import Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from agora.admin.catalog import EXPORTABLE, IMPORTABLE, export_columns
from agora.admin.seed import Seeder, SeedPlan
from agora.admin.service import check_file, export_rows, import_file
from agora.api.metrics import prepare_multiprocess_metrics
from agora.api.streaming import stream_export
from agora.config import InsecureSettingsError, Settings, get_settings
from agora.db import migrations
from agora.db.budget import connection_budgets, explain
from agora.db.bulk import BulkLoadError, FileFormat
from agora.db.engine import run_on_connection
from agora.db.idempotency import IdempotencyRepository
from agora.db.session import Database
from agora.db.types import utc_now
from agora.kernel.errors import DomainError
from agora.telemetry.logs import logging_config
from agora.users.passwords import PasswordHasher
from agora.users.schemas import UserCreate
from agora.users.service import UserService
from agora.users.sessions import SessionService

T = TypeVar("T")

app = typer.Typer(help="agora: a community-marketplace API.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema and data.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
idempotency_app = typer.Typer(
    help="Idempotency keys of money and stock writes.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
sessions_app = typer.Typer(help="Sign-in sessions and their refresh tokens.", no_args_is_help=True)
app.add_typer(idempotency_app, name="idempotency")
app.add_typer(sessions_app, name="sessions")


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
    settings = get_settings()
    try:
        settings.check_servable()
    except InsecureSettingsError as error:
        raise _fail(f"refusing to start: {error}") from error
    _check_connection_budget(settings, 1 if reload else workers)
    if workers > 1 and not reload:
        prepare_multiprocess_metrics()
    uvicorn.run(
        "agora.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
        access_log=False,  # agora writes its own access line (agora.telemetry.logs)
        log_config=logging_config(
            settings.log_format_in_use(), settings.log_level, access_log=access_log
        ),
        server_header=False,  # says nothing of what runs here
        # The app reads X-Forwarded-For itself, from AGORA_TRUSTED_PROXIES only (uvicorn
        # would trust it from 127.0.0.1 by default, where any local client can forge it).
        proxy_headers=False,
    )


def _check_connection_budget(settings: Settings, workers: int) -> None:
    """Refuse to start when the workers' pools would not fit in a database server's
    connections (agora.db.budget); a server that does not answer yet is not checked."""
    try:
        budgets = asyncio.run(connection_budgets(settings, workers))
    except (OSError, DBAPIError) as error:
        typer.secho(f"connection budget not checked: {error}", err=True, fg=typer.colors.YELLOW)
        return
    for budget in budgets:
        if not budget.fits:
            raise _fail(f"refusing to start: {explain(budget, workers, settings)}")


async def _with_connection(work: Callable[..., Awaitable[T]], *args: str) -> T:
    settings = get_settings()
    return await run_on_connection(
        settings.database_url, settings, lambda connection: work(connection, *args)
    )


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


class _Progress:
    """One progress bar per stage, on stderr."""

    def __init__(self) -> None:
        self._bars: dict[str, tuple[Any, int]] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self._bars:
            bar = typer.progressbar(length=max(total, 1), label=f"{stage:<14}", file=sys.stderr)
            self._bars[stage] = (bar.__enter__(), 0)
        bar, shown = self._bars[stage]
        bar.update(done - shown)
        self._bars[stage] = (bar, done)
        if done >= total:
            bar.__exit__(None, None, None)

    def rows(self, stage: str, total: int) -> Callable[[int], None]:
        return lambda done: self(stage, done, total)


async def _seed(plan: SeedPlan) -> SeedPlan:
    settings = get_settings()
    async with Database.from_settings(settings) as database:
        return await Seeder(database, settings, plan).run(_Progress())


@db_app.command()
def seed(
    users: Annotated[int, typer.Option(min=0)] = 100,
    posts: Annotated[int, typer.Option(min=0)] = 500,
    messages: Annotated[int, typer.Option(min=0)] = 10_000,
    products: Annotated[int, typer.Option(min=0)] = 50,
    orders: Annotated[int, typer.Option(min=0)] = 200,
    seed: Annotated[int, typer.Option(help="The same seed gives the same data.")] = 42,
) -> None:
    """Fill the database with demo data.

    Seeded accounts log in with the password "agora-demo".
    """
    done = asyncio.run(_seed(SeedPlan(users, posts, messages, products, orders, seed)))
    typer.echo(
        f"seeded {done.users} users, {done.posts} posts, {done.messages} messages, "
        f"{done.products} products and {done.orders} orders with --seed {seed}"
    )
    if done.orders < orders:
        typer.secho(
            f"only {done.orders} of {orders} orders: stock or money ran out",
            err=True,
            fg=typer.colors.YELLOW,
        )


def _report(error: BulkLoadError, limit: int = 50) -> typer.Exit:
    for problem in error.problems[:limit]:
        typer.secho(str(problem), err=True, fg=typer.colors.RED)
    if len(error.problems) > limit:
        typer.secho(f"... and {len(error.problems) - limit} more", err=True)
    return _fail(f"nothing imported: {len(error.problems)} problem(s)")


async def _import(table: Table, file: Path, file_format: FileFormat, rows: int) -> int:
    async with Database.from_settings(get_settings()) as database:
        progress = _Progress().rows(table.name, rows)
        return await import_file(database, table, file, file_format, progress=progress)


class Format(StrEnum):
    ndjson = "ndjson"
    csv = "csv"


def _table_argument(tables: Iterable[str]) -> Any:
    """A TABLE argument that must name one of `tables`, and says which in its help."""
    names = sorted(tables)

    def one_of(name: str) -> str:
        if name not in names:
            raise typer.BadParameter(f"{name!r} is not one of {', '.join(names)}")
        return name

    return typer.Argument(help=f"one of: {', '.join(names)}", callback=one_of)


@db_app.command("import")
def import_rows(
    table: Annotated[str, _table_argument(IMPORTABLE)],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    file_format: Annotated[
        Format | None, typer.Option("--format", help="default: from the file's extension")
    ] = None,
) -> None:
    """Load an NDJSON or CSV file into TABLE: every row or, if any is bad, none."""
    suffix = file.suffix.lstrip(".")
    chosen: FileFormat = "csv" if (file_format or suffix) == Format.csv else "ndjson"
    target = IMPORTABLE[table]
    try:
        rows = check_file(target, file, chosen)
        imported = asyncio.run(_import(target, file, chosen, rows))
    except BulkLoadError as error:
        raise _report(error) from error
    typer.echo(f"imported {imported} rows into {table}")


async def _export(name: str, file_format: FileFormat, output: IO[bytes]) -> None:
    async with Database.from_settings(get_settings()) as database:
        rows = partial(export_rows, name=name)
        async for chunk in stream_export(database, rows, file_format, export_columns(name)):
            output.write(chunk)


@db_app.command()
def export(
    table: Annotated[str, _table_argument(EXPORTABLE)],
    file_format: Annotated[Format, typer.Option("--format")] = Format.ndjson,
    output: Annotated[Path | None, typer.Option(help="default: standard output")] = None,
) -> None:
    """Write every row of TABLE, streamed from the database.

    Users are written without their password hashes.
    """
    chosen: FileFormat = "csv" if file_format == Format.csv else "ndjson"
    if output is None:
        asyncio.run(_export(table, chosen, sys.stdout.buffer))
        return
    with output.open("wb") as file:
        asyncio.run(_export(table, chosen, file))


async def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """One unit of work on the configured database."""
    async with Database.from_settings(get_settings()) as database:
        return await database.run_in_transaction(work)


async def _create_superuser(data: UserCreate) -> int:
    hasher = PasswordHasher.from_settings(get_settings())
    user = await _in_transaction(
        lambda session: UserService(session).register(data, hasher, is_superuser=True)
    )
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
    return await _in_transaction(
        lambda session: IdempotencyRepository(session).purge(claimed_before)
    )


@idempotency_app.command("purge")
def purge_idempotency_keys(
    older_than_hours: Annotated[
        float, typer.Option(min=0, help="Keys claimed longer ago than this are deleted.")
    ] = 24,
) -> None:
    """Delete old idempotency keys (a retry after that runs the request again)."""
    purged = asyncio.run(_purge_keys(utc_now() - timedelta(hours=older_than_hours)))
    typer.echo(f"purged {purged} idempotency keys")


async def _purge_sessions(ended_before: datetime) -> int:
    lifetime = timedelta(seconds=get_settings().refresh_token_lifetime_seconds)
    return await _in_transaction(
        lambda session: SessionService(session).purge(ended_before=ended_before, lifetime=lifetime)
    )


@sessions_app.command("purge")
def purge_sessions(
    older_than_hours: Annotated[
        float, typer.Option(min=0, help="Sessions that ended longer ago than this are deleted.")
    ] = 0,
) -> None:
    """Delete sessions that ended (logged out, revoked or expired) with their refresh
    tokens, and the used-up refresh tokens of live sessions that have expired anyway."""
    purged = asyncio.run(_purge_sessions(utc_now() - timedelta(hours=older_than_hours)))
    typer.echo(f"purged {purged} sessions")


def main() -> None:
    app()
