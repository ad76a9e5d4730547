"""The limit to compare agora against: the same endpoint with raw asyncpg.

``GET /api/v1/users/{user_id}`` does the same work as agora's: verify the bearer token
(PyJWT, same options), check that the caller exists, is not deleted and is active, load
the user, answer the private view for oneself and admins and the public view otherwise.
Two queries per request, as in agora. The pool skips asyncpg's reset query on release
(the queries leave no session state), so the baseline pays no round trip agora doesn't.

Two apps: on FastAPI, and on bare Starlette. Configured by environment variables
BENCH_DSN (an asyncpg DSN), BENCH_JWT_SECRET and BENCH_POOL_SIZE.

And, for the export benchmark, the naive export: every row fetched, then sent.
"""

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
import jwt
from fastapi import FastAPI, Path, Request
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CALLER = "SELECT is_active, is_superuser FROM users WHERE id = $1 AND deleted_at IS NULL"
USER = (
    "SELECT id, username, full_name, created_at, email, is_active, is_superuser, updated_at "
    "FROM users WHERE id = $1 AND deleted_at IS NULL"
)
PUBLIC = ("id", "username", "full_name", "created_at")
PRIVATE = (*PUBLIC, "email", "is_active", "is_superuser", "updated_at")


async def _no_reset(_connection: asyncpg.Connection) -> None:
    return None


@asynccontextmanager
async def _pool(app: Any) -> AsyncIterator[None]:
    size = int(os.environ.get("BENCH_POOL_SIZE", "20"))
    app.state.pool = await asyncpg.create_pool(
        os.environ["BENCH_DSN"], min_size=size, max_size=size, reset=_no_reset
    )
    app.state.secret = os.environ["BENCH_JWT_SECRET"]
    yield
    await app.state.pool.close()


def _error(status: int, detail: str, code: str) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code}, status)


async def read_user(request: Request, user_id: int) -> JSONResponse:
    authorization = request.headers.get("authorization", "")
    if not authorization.startswith("Bearer "):
        return _error(401, "Authentication is required.", "not_authenticated")
    try:
        claims = jwt.decode(
            authorization[7:],
            request.app.state.secret,
            algorithms=["HS256"],
            options={"require": ["exp", "iat", "sub"]},
        )
        caller_id = int(claims["sub"])
    except (jwt.PyJWTError, ValueError):
        return _error(401, "The access token is invalid or has expired.", "invalid_token")
    async with request.app.state.pool.acquire() as connection:
        caller = await connection.fetchrow(CALLER, caller_id)
        if caller is None or not caller["is_active"]:
            return _error(401, "The access token is invalid or has expired.", "invalid_token")
        row = await connection.fetchrow(USER, user_id)
    if row is None:
        return _error(404, "User not found.", "not_found")
    fields = PRIVATE if caller_id == user_id or caller["is_superuser"] else PUBLIC
    body = {name: row[name] for name in fields}
    body["created_at"] = body["created_at"].isoformat()
    if "updated_at" in body:
        body["updated_at"] = body["updated_at"].isoformat()
    return JSONResponse(body)


def create_fastapi_app() -> FastAPI:
    app = FastAPI(lifespan=_pool)

    @app.get("/api/v1/users/{user_id}")
    async def fastapi_read_user(
        request: Request, user_id: Annotated[int, Path(ge=1, le=2**63 - 1)]
    ) -> JSONResponse:
        return await read_user(request, user_id)

    return app


async def _starlette_read_user(request: Request) -> JSONResponse:
    return await read_user(request, request.path_params["user_id"])


def create_starlette_app() -> Starlette:
    return Starlette(
        routes=[Route("/api/v1/users/{user_id:int}", _starlette_read_user)], lifespan=_pool
    )


async def _naive_export(request: Request) -> Response:
    """What an export looks like without streaming: every row fetched, then sent."""
    conversation_id = request.path_params["conversation_id"]
    async with request.app.state.pool.acquire() as connection:
        rows = await connection.fetch(
            "SELECT id, conversation_id, role, content, created_at FROM messages "
            "WHERE conversation_id = $1 ORDER BY id",
            conversation_id,
        )
    lines = [
        json.dumps(
            {
                "id": row["id"],
                "conversation_id": str(row["conversation_id"]),
                "role": row["role"],
                "content": row["content"],
                "created_at": row["created_at"].isoformat(),
            }
        )
        for row in rows
    ]
    return Response("\n".join(lines) + "\n", media_type="application/x-ndjson")


def create_naive_export_app() -> Starlette:
    return Starlette(
        routes=[Route("/api/v1/conversations/{conversation_id:uuid}/export", _naive_export)],
        lifespan=_pool,
    )
