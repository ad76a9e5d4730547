"""Liveness and readiness probes, outside the versioned API."""

import asyncio
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from agora.api.errors import error_response
from agora.api.routing import operation_id
from agora.db.migrations import head_revision, recorded_revision
from agora.db.session import Database

# A probe that hangs is worse than one that fails: orchestrators time out anyway.
READINESS_TIMEOUT_SECONDS = 2.0

router = APIRouter(tags=["operations"], generate_unique_id_function=operation_id)
PROBES = frozenset({"/healthz", "/readyz"})


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    revision: str


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """200 while the process is up; says nothing about the database."""
    return Health()


async def _schema_revision(database: Database) -> str | None:
    """The recorded migration; None when the database answers but was never migrated."""
    try:
        async with database.transaction(read_only=True) as session:
            return await recorded_revision(session)
    except DBAPIError as error:
        if error.connection_invalidated:
            raise
    # The version query failed: tell "no alembic_version table" from "no database".
    async with database.transaction(read_only=True) as session:
        await session.execute(text("SELECT 1"))
    return None


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={
        503: {
            "description": "database_unavailable, migrations_pending, or database_busy "
            "(a pool saturated for longer than the pool timeout)"
        }
    },
)
async def readyz(request: Request) -> Readiness | JSONResponse:
    """200 when the database answers and its schema is at the latest migration, and no
    pool has had requests waiting for a connection for longer than the pool timeout
    (a saturated pool is told before any query, which would only queue behind them).
    Each 503 says why in its ``code`` and ``detail``."""
    database: Database = request.app.state.database
    timeout = request.app.state.settings.db_pool_timeout
    if saturated := database.saturated_pools(longer_than=timeout):
        waits = ", ".join(
            f"the {role} pool for {seconds:.1f} s" for role, seconds in saturated.items()
        )
        detail = (
            f"Requests have been waiting for a connection on {waits} (pool timeout {timeout:g} s)."
        )
        return _not_ready(detail, "database_busy")
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            revision = await _schema_revision(database)
    except (DBAPIError, OSError, PoolTimeoutError, TimeoutError):
        return _not_ready("The database does not answer.", "database_unavailable")
    head = head_revision()
    if revision is None or revision != head:
        detail = f"The database is at revision {revision}, the code expects {head}."
        return _not_ready(detail, "migrations_pending")
    return Readiness(revision=revision)


def _not_ready(detail: str, code: str) -> JSONResponse:
    return error_response(503, detail, code, {"Retry-After": "1"})
