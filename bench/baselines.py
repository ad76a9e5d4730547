"""The limit to compare agora against: the same endpoint with raw asyncpg.

``GET /api/v1/users/{user_id}`` does the same work as agora's: verify the bearer token
(PyJWT, same options), check that the caller exists, is not deleted and is active and
that the session the token names is theirs and live (one statement, as agora's), load
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

# The caller: an active account that is not deleted, in a live session of its own.
CALLER = (
    "SELECT u.is_superuser FROM users u JOIN user_sessions s ON s.user_id = u.id "
    "WHERE u.id = $1 AND s.id = $2 AND u.is_active AND u.deleted_at IS NULL "
    "AND s.revoked_at IS NULL AND s.expires_at > now()"
)
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
        os.environ["BENCH_DSN"],
        min_size=size,
        max_size=size,
        reset=_no_reset,
        server_settings={"jit": "off"},  # as agora's connections
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
            options={"require": ["exp", "iat", "sub", "sid"]},
        )
        caller_id, session_id = int(claims["sub"]), int(claims["sid"])
    except (jwt.PyJWTError, ValueError):
        return _error(401, "The access token is invalid or has expired.", "invalid_token")
    async with request.app.state.pool.acquire() as connection:
        caller = await connection.fetchrow(CALLER, caller_id, session_id)
        if caller is None:
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


POSTS = """
SELECT p.id, p.title, p.content, p.is_published, p.created_at, p.updated_at,
       u.id AS author_id, u.username,
       (SELECT count(*) FROM comments c WHERE c.post_id = p.id) AS comment_count,
       ARRAY(SELECT t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id
             WHERE pt.post_id = p.id ORDER BY t.name) AS tags
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.is_published ORDER BY p.created_at DESC, p.id DESC LIMIT $1 OFFSET $2
"""


async def _posts(request: Request) -> JSONResponse:
    """agora's anonymous GET /api/v1/posts: published posts, newest first, each with its
    author, tags and comment count, and the total."""
    limit = int(request.query_params.get("limit", 20))
    offset = int(request.query_params.get("offset", 0))
    async with request.app.state.pool.acquire() as connection:
        rows = await connection.fetch(POSTS, limit, offset)
        total = await connection.fetchval("SELECT count(*) FROM posts WHERE is_published")
    items = [
        {
            "id": row["id"],
            "title": row["title"],
            "content": row["content"],
            "is_published": row["is_published"],
            "created_at": row["created_at"].isoformat(),
            "updated_at": row["updated_at"].isoformat(),
            "author": {"id": row["author_id"], "username": row["username"]},
            "tags": list(row["tags"]),
            "comment_count": row["comment_count"],
        }
        for row in rows
    ]
    return JSONResponse({"items": items, "total": total, "limit": limit, "offset": offset})


PRODUCT = (
    "SELECT id, name, description, price_cents, stock, is_active, created_at, updated_at "
    "FROM products WHERE id = $1"
)


async def _product(request: Request, product_id: int) -> JSONResponse:
    async with request.app.state.pool.acquire() as connection:
        row = await connection.fetchrow(PRODUCT, product_id)
    if row is None:
        return _error(404, "Product not found.", "not_found")
    body = dict(row)
    body["created_at"] = row["created_at"].isoformat()
    body["updated_at"] = row["updated_at"].isoformat()
    return JSONResponse(body)


async def _transfer(request: Request) -> JSONResponse:
    """agora's POST /api/v1/wallet/transfers as one raw transaction: the caller and the
    recipient checked, both wallets locked in id order, the sender debited only if the
    balance allows, the recipient credited, one ledger row per side."""
    authorization = request.headers.get("authorization", "")
    try:
        claims = jwt.decode(
            authorization.removeprefix("Bearer "),
            request.app.state.secret,
            algorithms=["HS256"],
            options={"require": ["exp", "iat", "sub", "sid"]},
        )
        sender, session_id = int(claims["sub"]), int(claims["sid"])
    except (jwt.PyJWTError, ValueError):
        return _error(401, "The access token is invalid or has expired.", "invalid_token")
    data = await request.json()
    recipient, amount, note = data["to_user_id"], data["amount_cents"], data.get("note")
    active = "SELECT 1 FROM users WHERE id = $1 AND is_active AND deleted_at IS NULL"
    async with request.app.state.pool.acquire() as connection, connection.transaction():
        if await connection.fetchrow(CALLER, sender, session_id) is None:
            return _error(401, "The access token is invalid or has expired.", "invalid_token")
        if recipient == sender or await connection.fetchval(active, recipient) is None:
            return _error(422, "The recipient must be another active user.", "invalid_recipient")
        pair = sorted({sender, recipient})
        await connection.execute(
            "INSERT INTO wallets (user_id, balance_cents) SELECT unnest($1::bigint[]), 0 "
            "ON CONFLICT DO NOTHING",
            pair,
        )
        balances = dict(
            await connection.fetch(
                "SELECT user_id, balance_cents FROM wallets WHERE user_id = ANY($1) "
                "ORDER BY user_id FOR UPDATE",
                pair,
            )
        )
        if balances[sender] < amount:
            return _error(409, "The balance is too low for this.", "insufficient_funds")
        await connection.execute(
            "UPDATE wallets SET balance_cents = balance_cents - $2 WHERE user_id = $1",
            sender,
            amount,
        )
        await connection.execute(
            "UPDATE wallets SET balance_cents = balance_cents + $2 WHERE user_id = $1",
            recipient,
            amount,
        )
        entries = await connection.fetch(
            "INSERT INTO ledger_entries (user_id, kind, amount_cents, from_user_id, to_user_id,"
            " note, created_at) SELECT unnest($1::bigint[]), 'transfer', $2, $3, $4, $5, now()"
            " RETURNING id, kind, amount_cents, from_user_id, to_user_id, note, created_at",
            [sender, recipient],
            amount,
            sender,
            recipient,
            note,
        )
    sent = dict(entries[0])
    sent["created_at"] = sent["created_at"].isoformat()
    return JSONResponse(sent, status_code=201)


def create_catalogue_app() -> FastAPI:
    """The post list, a product, and a transfer, on FastAPI with raw asyncpg."""
    app = FastAPI(lifespan=_pool)

    @app.get("/api/v1/posts")
    async def posts(request: Request) -> JSONResponse:
        return await _posts(request)

    @app.get("/api/v1/products/{product_id}")
    async def product(
        request: Request, product_id: Annotated[int, Path(ge=1, le=2**63 - 1)]
    ) -> JSONResponse:
        return await _product(request, product_id)

    @app.post("/api/v1/wallet/transfers")
    async def transfer(request: Request) -> JSONResponse:
        return await _transfer(request)

    return app
