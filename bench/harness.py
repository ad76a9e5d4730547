"""Shared by the benchmarks: a scratch PostgreSQL database, pinned server processes, the
load generator, and the report."""

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from agora.config import Settings
from agora.db import migrations
from agora.db.engine import create_engine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
POSTGRES_ADMIN_DSN = os.environ.get(
    "BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# Two cores: the server under test gets one, the load generator the other; PostgreSQL
# floats. Every contender runs under exactly the same arrangement.
SERVER_CPUS = {0}
LOAD_CPUS = {1} if (os.cpu_count() or 1) > 1 else {0}


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
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_engine(url, Settings(_env_file=None, database_url=url))  # type: ignore[call-arg]
    try:
        async with engine.connect() as connection:
            await migrations.upgrade(connection)
            await connection.commit()
    finally:
        await engine.dispose()
    return dsn


def _pinned(cpus: set[int]) -> Callable[[], None]:
    return lambda: os.sched_setaffinity(0, cpus)


@dataclass
class Contender:
    name: str
    command: Sequence[str]
    environment: dict[str, str] = field(default_factory=dict)


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


def run_load(
    port: int,
    paths: list[str],
    headers: dict[str, str],
    connections: int,
    warmup: float,
    duration: float,
) -> dict[str, float]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    paths_file = RESULTS / "paths.txt"
    paths_file.write_text("\n".join(paths))
    command = [
        sys.executable,
        "-m",
        "bench.loadgen",
        f"http://127.0.0.1:{port}",
        "--paths-file",
        str(paths_file),
        "--connections",
        str(connections),
        "--warmup",
        str(warmup),
        "--duration",
        str(duration),
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    output = subprocess.run(
        command,
        cwd=ROOT,
        check=True,
        capture_output=True,
        preexec_fn=_pinned(LOAD_CPUS),
    ).stdout
    result: dict[str, float] = json.loads(output)
    return result


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
