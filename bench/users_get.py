"""Benchmark: ``GET /api/v1/users/{id}`` with a bearer token, on PostgreSQL.

agora against the same endpoint written with raw asyncpg on FastAPI and on bare
Starlette (bench/baselines.py), and against agora with pool pre-ping on and with its
memory of verified tokens off; same run, same load generator, the server pinned to one
core and the load generator to the other.

Target: agora >= 50% of the FastAPI + asyncpg throughput at 64 connections, p99 <= 3x
p50, no errors or timeouts.

    uv run python -m bench.users_get [--rounds 3] [--duration 8] [--only agora ...]
"""

import asyncio

from agora.users.passwords import PasswordHasher
from bench.harness import (
    RAW_ASYNCPG,
    Comparison,
    Contender,
    agora_contender,
    baseline_contender,
    bearer_headers,
    bench_secret,
    compare,
    create_migrated_database,
    load_argument_parser,
    random_id_paths,
    seed_users,
)

DATABASE = "agora_bench_users"
SECRET = bench_secret("users_get")


async def seed(dsn: str, users: int) -> None:
    """`users` accounts sharing one real argon2 hash; user 1 is the caller."""
    hashed = await PasswordHasher(time_cost=1, memory_cost_kib=8, parallelism=1).hash("password")
    await seed_users(dsn, users, hashed)


async def create_database(users: int) -> str:
    """The benchmark's database, migrated and seeded with `users` accounts; its DSN."""
    dsn = await create_migrated_database(DATABASE)
    await seed(dsn, users)
    return dsn


def caller_headers() -> dict[str, str]:
    """The headers of every request: a bearer token of user 1, valid for a day."""
    return bearer_headers(SECRET, 1)


def main() -> None:
    parser = load_argument_parser(__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    args = parser.parse_args()

    dsn = asyncio.run(create_database(args.users))
    headers = caller_headers()
    requests = [
        {"path": path, "headers": headers}
        for path in random_id_paths("/api/v1/users/{}", args.users)
    ]
    agora = agora_contender(dsn, SECRET)
    # agora as the README runs it in production: a JSON access line per request.
    logged = Contender(
        "agora, JSON access lines",
        [part for part in agora.command if part != "--no-access-log"],
        agora.environment,
    )
    compare(
        Comparison(
            name="users_get",
            title="GET /api/v1/users/{id}, PostgreSQL",
            requests=requests,
            contenders=[
                agora,
                logged,
                baseline_contender(RAW_ASYNCPG, "create_fastapi_app", dsn, SECRET),
                baseline_contender("starlette+asyncpg", "create_starlette_app", dsn, SECRET),
                agora.variant("agora, pool_pre_ping=true", AGORA_DB_POOL_PRE_PING="true"),
                agora.variant("agora, every token verified", AGORA_JWT_VERIFIED_TOKENS_KEPT="0"),
            ],
            baseline=RAW_ASYNCPG,
            target_ratio=0.5,
        ),
        args,
    )


if __name__ == "__main__":
    main()
