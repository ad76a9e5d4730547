"""CPU instructions per request of ``GET /api/v1/users/{id}`` (signed in) or
``GET /api/v1/products/{id}`` (anonymous): agora against FastAPI + asyncpg.

On a shared VM the throughput of `bench.users_get` and `bench.product_get` moves by
±20% from one round to the next; the number of instructions a request executes barely
moves. Each app runs here in-process, called by an ASGI driver (no HTTP server, no load
generator) with 64 requests in flight, under valgrind's callgrind, which counts only the
measured requests. agora logs as `agora serve` does in production: a JSON access line
per request (the variant "no access lines" shows what they cost).

A diagnostic beside those benchmarks, not a replacement: instructions are not time
(cache misses, system calls and the HTTP server are not in the count), and under
valgrind the app runs ~50 times slower, so PostgreSQL always answers at once. It shows
whether a change makes the request do less work, in one run, where the HTTP benchmark
would need many rounds. Needs valgrind (Debian package `valgrind`); ~4 minutes.

    uv run python -m bench.instructions [--endpoint users|products] [--requests 640]
"""

import argparse
import asyncio
import logging.config
import os
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvloop

from bench import baselines, product_get, users_get
from bench.harness import (
    RAW_ASYNCPG,
    ROOT,
    Contender,
    agora_contender,
    argument_parser,
    baseline_contender,
    random_id_paths,
)

CONCURRENCY = 64
WARMUP_REQUESTS = 256
ROWS = 10_000  # users or products; each request asks for one of them at random
SECRET = users_get.SECRET
# callgrind zeroes its counters when the driver calls the first of these C functions and
# writes them out when it calls the second: neither is called anywhere else, so the count
# is exactly the measured requests, without startup, warm-up or shutdown.
START_MARK, STOP_MARK = "getppid", "getpgrp"


@dataclass(frozen=True)
class Endpoint:
    path: str  # "{}" stands for the id asked for
    signed_in: bool
    baseline_factory: str  # in bench.baselines
    create_database: Callable[[int], Awaitable[str]]  # with this many rows; its DSN


ENDPOINTS = {
    "users": Endpoint("/api/v1/users/{}", True, "create_fastapi_app", users_get.create_database),
    "products": Endpoint(
        "/api/v1/products/{}", False, "create_catalogue_app", product_get.create_database
    ),
}


def build_app(name: str, endpoint: Endpoint) -> Any:
    """The contender's ASGI app, configured by the environment `main` gave the process."""
    if name == RAW_ASYNCPG:
        return getattr(baselines, endpoint.baseline_factory)()
    from agora.config import get_settings
    from agora.main import create_app
    from agora.telemetry.logs import logging_config

    settings = get_settings()
    # Logged as `agora serve` logs: an access line per request, to standard output.
    logging.config.dictConfig(logging_config(settings.log_format_in_use(), settings.log_level))
    return create_app(settings)


async def drive(app: Any, endpoint: Endpoint, requests: int) -> dict[int, int]:
    """Start `app`, warm it up, run `requests` requests with `CONCURRENCY` in flight
    between the two marks, stop it; the count of each status code answered."""
    startup: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await startup.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, startup.get, replies.put)
    )
    assert (await replies.get())["type"] == "lifespan.startup.complete"

    sent = {"host": "bench", **(users_get.caller_headers() if endpoint.signed_in else {})}
    headers = [(name.lower().encode(), value.encode()) for name, value in sent.items()]
    paths = random_id_paths(endpoint.path, ROWS)
    statuses: dict[int, int] = {}

    async def request(number: int) -> None:
        path = paths[number % len(paths)]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
            "state": {},
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        await app(scope, receive, send)

    async def run(count: int) -> None:
        async def client(first: int) -> None:
            for number in range(first, count, CONCURRENCY):
                await request(number)

        await asyncio.gather(*(client(first) for first in range(CONCURRENCY)))

    await run(WARMUP_REQUESTS)
    statuses.clear()
    getattr(os, START_MARK)()
    await run(requests)
    getattr(os, STOP_MARK)()

    await startup.put({"type": "lifespan.shutdown"})
    await lifespan
    return statuses


def count_instructions(
    name: str, endpoint: str, environment: dict[str, str], requests: int
) -> float:
    """Instructions per request of contender `name`, counted by callgrind."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--zero-before={START_MARK}",
                f"--dump-before={STOP_MARK}",
                f"--callgrind-out-file={output}",
                sys.executable,
                "-m",
                "bench.instructions",
                "--drive",
                name,
                "--endpoint",
                endpoint,
                "--requests",
                str(requests),
            ],
            cwd=ROOT,
            env={**os.environ, **environment},
            check=True,
            capture_output=True,
        )
        # The dump taken at the stop mark is part 1 (the file without a suffix is the rest).
        dump = Path(f"{output}.1").read_text().splitlines()
    summary = next(line for line in dump if line.startswith("summary:"))
    return int(summary.split()[1]) / requests


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--endpoint", choices=sorted(ENDPOINTS), default="users")
    parser.add_argument("--requests", type=int, default=640, help="requests counted")
    parser.add_argument("--only", action="append", help="run only these contenders (by name)")
    parser.add_argument("--drive", help=argparse.SUPPRESS)  # the run under valgrind
    args = parser.parse_args()
    endpoint = ENDPOINTS[args.endpoint]
    if args.drive:
        statuses = uvloop.run(drive(build_app(args.drive, endpoint), endpoint, args.requests))
        if statuses != {200: args.requests}:
            raise SystemExit(f"{args.drive} answered {statuses}")
        return

    dsn = asyncio.run(endpoint.create_database(ROWS))
    agora = agora_contender(dsn, SECRET)
    contenders = [
        baseline_contender(RAW_ASYNCPG, endpoint.baseline_factory, dsn, SECRET),
        agora,
    ]
    contenders.append(agora.variant("agora, no access lines", AGORA_LOG_LEVEL="WARNING"))
    if endpoint.signed_in:
        contenders.append(
            agora.variant("agora, every token verified", AGORA_JWT_VERIFIED_TOKENS_KEPT="0")
        )
    chosen = [c for c in contenders if not args.only or c.name in args.only]

    def count(contender: Contender) -> float:
        app = RAW_ASYNCPG if contender.name == RAW_ASYNCPG else "agora"
        return count_instructions(app, args.endpoint, contender.environment, args.requests)

    # The counts do not depend on what else runs, so the contenders run side by side.
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        counts = dict(zip((c.name for c in chosen), pool.map(count, chosen), strict=True))
    baseline = counts.get(RAW_ASYNCPG)
    title = "GET " + endpoint.path.format("{id}")
    print(f"\n{title}, {args.requests} requests, {CONCURRENCY} in flight")
    print(f"| contender | instructions per request | vs {RAW_ASYNCPG} |")
    print("|---|---:|---:|")
    for name, instructions in counts.items():
        ratio = f"{instructions / baseline:.0%}" if baseline else "-"
        print(f"| {name} | {instructions:,.0f} | {ratio} |")


if __name__ == "__main__":
    main()
