"""Shared by the benchmarks: a scratch PostgreSQL database, pinned server processes, the
load generator, and the report."""

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from agora.admin.seed import Seeder, SeedPlan
from agora.auth.tokens import TokenCodec
from agora.config import Settings
from agora.db import migrations
from agora.db.engine import run_on_connection
from agora.db.session import Database

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
POSTGRES_ADMIN_DSN = os.environ.get(
    "BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# The name of the baseline the HTTP benchmarks measure agora against.
RAW_ASYNCPG = "fastapi+asyncpg"
# Two cores: the server under test gets one, the load generator the other; PostgreSQL
# floats. Every contender runs under exactly the same arrangement.
SERVER_CPUS = {0}
LOAD_CPUS = {1} if (os.cpu_count() or 1) > 1 else {0}


def bench_secret(name: str) -> str:
    """A fixed signing secret for benchmark `name`, strong enough that agora serves with it."""
    return f"{name}-" + hashlib.sha256(name.encode()).hexdigest()


def sqlalchemy_url(dsn: str) -> str:
    """asyncpg's DSN as a SQLAlchemy URL naming the driver."""
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


def database_dsn(name: str) -> str:
    return POSTGRES_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"


async def create_migrated_database(name: str) -> str:
    """Drop and create database `name`, migrate it with agora's migrations; return its DSN."""
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = database_dsn(name)
    url = sqlalchemy_url(dsn)
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    await run_on_connection(url, settings, migrations.upgrade)
    return dsn


async def copy_users(connection: asyncpg.Connection, count: int, hashed_password: str) -> None:
    """Users 1..`count` (``user{i}``, active, sharing one password hash), each signed in
    once (session i, live for two days: see `bearer_headers`), written with COPY; the id
    sequences are moved past them."""
    now = datetime.now(UTC)
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
            (
                i,
                f"user{i}@example.com",
                f"user{i}",
                f"User {i}",
                hashed_password,
                True,
                False,
                now,
                now,
            )
            for i in range(1, count + 1)
        ),
    )
    await connection.execute("SELECT setval('users_id_seq', $1)", count)
    await connection.copy_records_to_table(
        "user_sessions",
        columns=["id", "user_id", "created_at", "last_used_at", "expires_at"],
        records=((i, i, now, now, now + timedelta(days=2)) for i in range(1, count + 1)),
    )
    await connection.execute("SELECT setval('user_sessions_id_seq', $1)", count)


def bearer_headers(secret: str, user_id: int) -> dict[str, str]:
    """The auth header of user `user_id` in the session `copy_users` opened for it,
    valid for a day."""
    codec = TokenCodec(secret=secret, algorithm="HS256", lifetime_seconds=86_400)
    return {"Authorization": f"Bearer {codec.issue(user_id, user_id).access_token}"}


@asynccontextmanager
async def connected(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A raw asyncpg connection to `dsn`, closed at the end."""
    connection = await asyncpg.connect(dsn)
    try:
        yield connection
    finally:
        await connection.close()


async def seed_users(dsn: str, count: int, hashed_password: str) -> None:
    """`copy_users` on `dsn`, then fresh statistics for the planner."""
    async with connected(dsn) as connection:
        await copy_users(connection, count, hashed_password)
        await connection.execute("ANALYZE users")
        await connection.execute("ANALYZE user_sessions")


def random_id_paths(template: str, ids: int, count: int = 1000) -> list[str]:
    """`count` paths: `template` with "{}" replaced by an id drawn from 1..`ids`, from a
    fixed seed, so that every contender and every run asks for the same rows."""
    rng = random.Random(42)
    return [template.format(rng.randint(1, ids)) for _ in range(count)]


def _pinned(cpus: set[int]) -> Callable[[], None]:
    return lambda: os.sched_setaffinity(0, cpus)


@dataclass
class Contender:
    name: str
    command: Sequence[str]
    environment: dict[str, str] = field(default_factory=dict)

    def variant(self, name: str, **environment: str) -> "Contender":
        """The same server with more settings."""
        return Contender(name, self.command, {**self.environment, **environment})


class Server:
    def __init__(self, contender: Contender, port: int) -> None:
        self.contender = contender
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "Server":
        command = [part.replace("{port}", str(self.port)) for part in self.contender.command]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **self.contender.environment},
            preexec_fn=_pinned(SERVER_CPUS),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        return self

    def wait_ready(self, path: str, headers: dict[str, str]) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{self.port}{path}", headers=headers)
                if response.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.contender.name} did not start")

    def __exit__(self, *_exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_load(
    port: int,
    specs: Sequence[dict[str, Any]],
    connections: int,
    warmup: float,
    duration: float,
    *,
    name: str = "requests",
    timeout: float = 5.0,
) -> subprocess.Popen[bytes]:
    """The load generator, started on its core; `finish_load` reads its figures."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    requests_file = RESULTS / f"{name}.jsonl"
    requests_file.write_text("".join(json.dumps(spec) + "\n" for spec in specs))
    command = [
        sys.executable,
        "-m",
        "bench.loadgen",
        f"http://127.0.0.1:{port}",
        "--requests-file",
        str(requests_file),
        "--connections",
        str(connections),
        "--warmup",
        str(warmup),
        "--duration",
        str(duration),
        "--timeout",
        str(timeout),
    ]
    return subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, preexec_fn=_pinned(LOAD_CPUS)
    )


def finish_load(process: subprocess.Popen[bytes]) -> dict[str, Any]:
    output, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the load generator failed ({process.returncode})")
    result: dict[str, Any] = json.loads(output)
    return result


def run_load(
    port: int, specs: Sequence[dict[str, Any]], connections: int, warmup: float, duration: float
) -> dict[str, Any]:
    return finish_load(start_load(port, specs, connections, warmup, duration))


def summarize(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Median of each figure over the rounds; errors and timeouts are summed."""
    summary = {
        key: statistics.median(r[key] for r in rounds) for key in ("rps", "p50_ms", "p99_ms")
    }
    summary["max_ms"] = max(r["max_ms"] for r in rounds)
    summary["errors"] = sum(r["errors"] for r in rounds)
    summary["timeouts"] = sum(r["timeouts"] for r in rounds)
    summary["requests"] = sum(r["requests"] for r in rounds)
    return summary


@dataclass
class Comparison:
    """agora and its baselines under the same load, round after round."""

    name: str
    title: str
    requests: Sequence[dict[str, Any]]
    contenders: Sequence[Contender]
    baseline: str
    # The throughput agora must reach, as a fraction of the baseline's (None: report only).
    target_ratio: float | None = None
    # A GET that answers 200 once a server is ready (default: the first request).
    ready: dict[str, Any] | None = None


def argument_parser(doc: str | None) -> argparse.ArgumentParser:
    """A parser whose --help shows the benchmark's docstring as written."""
    return argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def load_argument_parser(doc: str | None) -> argparse.ArgumentParser:
    """`argument_parser` with the options of `compare`."""
    parser = argument_parser(doc)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds measured per round")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--only", action="append", help="run only these contenders (by name)")
    return parser


def compare(comparison: Comparison, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Run every contender `args.rounds` times (rotating the order), print the table and
    the checks, save the figures in bench/results/NAME.json."""
    field = [c for c in comparison.contenders if not args.only or c.name in args.only]
    ready = comparison.ready or comparison.requests[0]
    rounds: dict[str, list[dict[str, float]]] = {}
    for number in range(args.rounds):
        for contender in field[number % len(field) :] + field[: number % len(field)]:
            with Server(contender, args.port) as server:
                server.wait_ready(ready["path"], ready.get("headers", {}))
                result = run_load(
                    args.port, comparison.requests, args.connections, args.warmup, args.duration
                )
            rounds.setdefault(contender.name, []).append(result)
            print(
                f"round {number + 1} {contender.name:28} {result['rps']:8.0f} req/s "
                f"p50 {result['p50_ms']:6.1f} ms p99 {result['p99_ms']:6.1f} ms "
                f"errors {result['errors']} timeouts {result['timeouts']}",
                flush=True,
            )
    summary = {name: summarize(results) for name, results in rounds.items()}
    print(
        f"\n{comparison.title}, {args.connections} connections, "
        f"medians of {args.rounds} rounds of {args.duration:.0f} s"
    )
    baseline = summary.get(comparison.baseline, {}).get("rps")
    print(
        "| contender | req/s | p50 ms | p99 ms | p99/p50 | errors+timeouts "
        f"| vs {comparison.baseline} |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, figures in summary.items():
        ratio = f"{figures['rps'] / baseline:.0%}" if baseline else "-"
        print(
            f"| {name} | {figures['rps']:.0f} | {figures['p50_ms']:.1f} | "
            f"{figures['p99_ms']:.1f} | {figures['p99_ms'] / figures['p50_ms']:.2f} | "
            f"{figures['errors'] + figures['timeouts']:.0f} | {ratio} |"
        )
    agora = summary.get("agora")
    if agora and baseline and comparison.target_ratio is not None:
        reached = agora["rps"] / baseline
        print(
            f"{'PASS' if reached >= comparison.target_ratio else 'FAIL'}: throughput >= "
            f"{comparison.target_ratio:.0%} of {comparison.baseline} ({reached:.0%})"
        )
    if agora:
        print(
            f"{'PASS' if agora['errors'] + agora['timeouts'] == 0 else 'FAIL'}: "
            "no errors or timeouts"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{comparison.name}.json").write_text(
        json.dumps({"rounds": rounds, "summary": summary}, indent=2)
    )
    return summary


def agora_contender(dsn: str, secret: str, pool_size: int = 20, **environment: str) -> Contender:
    """agora, served as the README serves it, on the benchmark's database."""
    return Contender(
        "agora",
        [sys.executable, "-m", "agora", "serve", "--port", "{port}", "--no-access-log"],
        {
            "AGORA_ENVIRONMENT": "production",
            "AGORA_DATABASE_URL": sqlalchemy_url(dsn),
            "AGORA_JWT_SECRET": secret,
            "AGORA_DB_POOL_SIZE": str(pool_size),
            "AGORA_DB_MAX_OVERFLOW": "0",
            # the load generator's 127.0.0.1 and bench.instructions' in-process "bench"
            "AGORA_ALLOWED_HOSTS": '["127.0.0.1", "bench"]',
            **environment,
        },
    )


def baseline_contender(
    name: str, factory: str, dsn: str, secret: str, pool_size: int = 20
) -> Contender:
    """A raw-asyncpg app of bench/baselines.py, served by uvicorn the same way."""
    return Contender(
        name,
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"bench.baselines:{factory}",
            "--factory",
            "--port",
            "{port}",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        {"BENCH_DSN": dsn, "BENCH_JWT_SECRET": secret, "BENCH_POOL_SIZE": str(pool_size)},
    )


def compare_with_raw_asyncpg(
    args: argparse.Namespace,
    dsn: str,
    secret: str,
    *,
    name: str,
    title: str,
    requests: Sequence[dict[str, Any]],
    target_ratio: float | None = None,
    ready: dict[str, Any] | None = None,
) -> dict[str, dict[str, float]]:
    """`compare` agora with the same endpoints written with raw asyncpg on FastAPI
    (`create_catalogue_app`), on the database at `dsn`."""
    contenders = [
        agora_contender(dsn, secret),
        baseline_contender(RAW_ASYNCPG, "create_catalogue_app", dsn, secret),
    ]
    return compare(
        Comparison(name, title, requests, contenders, RAW_ASYNCPG, target_ratio, ready), args
    )


async def create_seeded_database(name: str, plan: SeedPlan) -> str:
    """`create_migrated_database`, filled by agora's own seeder (the bulk path of the
    data-access kit); its DSN."""
    dsn = await create_migrated_database(name)
    url = sqlalchemy_url(dsn)
    settings = Settings(_env_file=None, database_url=url, argon2_time_cost=1)  # type: ignore[call-arg]
    async with Database.from_settings(settings) as database:
        await Seeder(database, settings, plan).run(lambda stage, done, total: None)
    return dsn
