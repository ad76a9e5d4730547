"""Benchmark: ``GET /api/v1/users/{id}`` with a bearer token, on PostgreSQL.

agora against the same endpoint written with raw asyncpg on FastAPI and on bare
Starlette (bench/baselines.py), in the same run, with the same load generator, the
server pinned to one core and the load generator to the other. Rounds alternate the
order of the contenders; the figures are medians over the rounds.

Targets: agora >= 50% of the FastAPI + asyncpg throughput at 64 connections, p99 <= 3x
p50, no errors or timeouts.

    make bench                    # or: uv run python -m bench.users_get --help
"""

import argparse
import asyncio
import json
import random
import sys
from datetime import UTC, datetime

import asyncpg

from agora.auth.passwords import PasswordHasher
from agora.auth.tokens import TokenCodec
from bench.harness import RESULTS, Contender, Server, create_migrated_database, run_load, summarize

DATABASE = "agora_bench_users"
SECRET = "bench-secret-" + "b" * 40
PYTHON = sys.executable


async def seed(dsn: str, users: int) -> None:
    """`users` accounts sharing one real argon2 hash; user 1 is the caller."""
    hashed = await PasswordHasher(time_cost=1, memory_cost_kib=8, parallelism=1).hash("password")
    now = datetime.now(UTC)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table(
            "users",
            columns=[
                "id",
                "email",
                "username",
                "full_name",
                "hashed_password",
                "is_active",
                "is_superuser",
                "created_at",
                "updated_at",
            ],
            records=(
                (i, f"user{i}@example.com", f"user{i}", f"User {i}", hashed, True, False, now, now)
                for i in range(1, users + 1)
            ),
        )
        await connection.execute("SELECT setval('users_id_seq', $1)", users)
        await connection.execute("ANALYZE users")
    finally:
        await connection.close()


def contenders(dsn: str, pool_size: int) -> list[Contender]:
    agora_environment = {
        "AGORA_ENVIRONMENT": "production",
        "AGORA_DATABASE_URL": dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
        "AGORA_JWT_SECRET": SECRET,
        "AGORA_DB_POOL_SIZE": str(pool_size),
        "AGORA_DB_MAX_OVERFLOW": "0",
    }
    agora = [PYTHON, "-m", "agora", "serve", "--port", "{port}", "--no-access-log"]
    baseline_environment = {
        "BENCH_DSN": dsn,
        "BENCH_JWT_SECRET": SECRET,
        "BENCH_POOL_SIZE": str(pool_size),
    }

    def baseline(factory: str) -> list[str]:
        return [
            PYTHON,
            "-m",
            "uvicorn",
            f"bench.baselines:{factory}",
            "--factory",
            "--port",
            "{port}",
            "--no-access-log",
            "--log-level",
            "warning",
        ]

    return [
        Contender("agora", agora, agora_environment),
        Contender("fastapi+asyncpg", baseline("create_fastapi_app"), baseline_environment),
        Contender("starlette+asyncpg", baseline("create_starlette_app"), baseline_environment),
        Contender(
            "agora, pool_pre_ping=true",
            agora,
            {**agora_environment, "AGORA_DB_POOL_PRE_PING": "true"},
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds measured per round")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--pool-size", type=int, default=20)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--only", action="append", help="run only these contenders (by name)")
    args = parser.parse_args()

    dsn = asyncio.run(create_migrated_database(DATABASE))
    asyncio.run(seed(dsn, args.users))
    token = TokenCodec(secret=SECRET, algorithm="HS256", lifetime_seconds=86_400).issue(1)
    headers = {"Authorization": f"Bearer {token.access_token}"}
    rng = random.Random(42)
    paths = [f"/api/v1/users/{rng.randint(1, args.users)}" for _ in range(1000)]

    rounds: dict[str, list[dict[str, float]]] = {}
    field = [c for c in contenders(dsn, args.pool_size) if not args.only or c.name in args.only]
    for round_number in range(args.rounds):
        order = field[round_number % len(field) :] + field[: round_number % len(field)]
        for contender in order:
            with Server(contender, args.port) as server:
                server.wait_ready(paths[0], headers)
                result = run_load(
                    args.port, paths, headers, args.connections, args.warmup, args.duration
                )
            rounds.setdefault(contender.name, []).append(result)
            print(
                f"round {round_number + 1} {contender.name:28} {result['rps']:8.0f} req/s "
                f"p50 {result['p50_ms']:6.1f} ms p99 {result['p99_ms']:6.1f} ms "
                f"errors {result['errors']} timeouts {result['timeouts']}",
                flush=True,
            )

    summary = {name: summarize(results) for name, results in rounds.items()}
    if "fastapi+asyncpg" not in summary or "agora" not in summary:
        return
    baseline = summary["fastapi+asyncpg"]["rps"]
    print(
        f"\nGET /api/v1/users/{{id}}, PostgreSQL, {args.connections} connections, "
        f"medians of {args.rounds} rounds of {args.duration:.0f} s"
    )
    print(
        "| contender | req/s | p50 ms | p99 ms | p99/p50 | errors+timeouts | vs FastAPI+asyncpg |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, figures in summary.items():
        print(
            f"| {name} | {figures['rps']:.0f} | {figures['p50_ms']:.1f} | "
            f"{figures['p99_ms']:.1f} | {figures['p99_ms'] / figures['p50_ms']:.2f} | "
            f"{figures['errors'] + figures['timeouts']:.0f} | {figures['rps'] / baseline:.0%} |"
        )
    agora = summary["agora"]
    checks = {
        "throughput >= 50% of FastAPI+asyncpg": agora["rps"] >= 0.5 * baseline,
        "p99 <= 3x p50": agora["p99_ms"] <= 3 * agora["p50_ms"],
        "no errors or timeouts": agora["errors"] + agora["timeouts"] == 0,
    }
    for check, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}: {check}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "users_get.json").write_text(
        json.dumps({"rounds": rounds, "summary": summary}, indent=2)
    )


if __name__ == "__main__":
    main()
