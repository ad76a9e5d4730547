"""Benchmark: server memory while exporting a conversation of 200,000 messages.

agora streams ``GET /api/v1/conversations/{id}/export`` from a server-side cursor; the
baseline (bench/baselines.py) fetches every row and then sends them, the way an export
is often first written. Each server runs pinned to CPU 0; its peak resident set
(``VmHWM`` in /proc) is read after a warm-up export and again after the big one: the
difference is what the export cost in memory.

Target: agora's peak grows by less than 50 MB.

    uv run python -m bench.export_memory [--messages 200000]
"""

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from agora.auth.tokens import TokenCodec
from bench.harness import RESULTS, Contender, Server, create_migrated_database

DATABASE = "agora_bench_chat"
SECRET = "bench-secret-" + "c" * 40
WORDS = (
    "the of and to in is you that it he was for on are as with his they at be this".split()  # noqa: SIM905
)


async def seed(dsn: str, messages: int) -> tuple[uuid.UUID, uuid.UUID]:
    """One user owning a big conversation and a small one (for warming up)."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    big, small = uuid.uuid4(), uuid.uuid4()
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "INSERT INTO users (id, email, username, hashed_password, is_active, is_superuser,"
            " created_at, updated_at) VALUES (1, 'bench@example.com', 'bench', 'x', true,"
            " false, $1, $1)",
            now,
        )
        await connection.executemany(
            "INSERT INTO conversations (id, owner_id, title, message_count, created_at,"
            " updated_at) VALUES ($1, 1, $2, $3, $4, $4)",
            [(big, "big", messages, now), (small, "small", 10, now)],
        )
        records = (
            (
                conversation,
                ("user", "assistant")[index % 2],
                " ".join(rng.choices(WORDS, k=40)),
                now + timedelta(microseconds=index),
            )
            for conversation, count in ((small, 10), (big, messages))
            for index in range(count)
        )
        await connection.copy_records_to_table(
            "messages",
            columns=["conversation_id", "role", "content", "created_at"],
            records=records,
        )
        await connection.execute("ANALYZE messages")
    finally:
        await connection.close()
    return big, small


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc")


def export(port: int, conversation: uuid.UUID, headers: dict[str, str]) -> tuple[int, int]:
    """Stream the export, counting lines and bytes, keeping nothing."""
    lines = size = 0
    url = f"http://127.0.0.1:{port}/api/v1/conversations/{conversation}/export"
    with httpx.stream("GET", url, headers=headers, timeout=600) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            lines += chunk.count(b"\n")
            size += len(chunk)
    return lines, size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()

    dsn = asyncio.run(create_migrated_database(DATABASE))
    big, small = asyncio.run(seed(dsn, args.messages))
    token = TokenCodec(secret=SECRET, algorithm="HS256", lifetime_seconds=3600).issue(1)
    headers = {"Authorization": f"Bearer {token.access_token}"}
    python = sys.executable
    contenders = [
        Contender(
            "agora (streamed)",
            [python, "-m", "agora", "serve", "--port", "{port}", "--no-access-log"],
            {
                "AGORA_ENVIRONMENT": "production",
                "AGORA_DATABASE_URL": dsn.replace("postgresql://", "postgresql+asyncpg://"),
                "AGORA_JWT_SECRET": SECRET,
            },
        ),
        Contender(
            "all rows, then send (baseline)",
            [
                python,
                "-m",
                "uvicorn",
                "bench.baselines:create_naive_export_app",
                "--factory",
                "--port",
                "{port}",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            {"BENCH_DSN": dsn, "BENCH_JWT_SECRET": SECRET, "BENCH_POOL_SIZE": "2"},
        ),
    ]
    results = {}
    for contender in contenders:
        with Server(contender, args.port) as server:
            warm_up = f"/api/v1/conversations/{small}/export"
            server.wait_ready(warm_up, headers)
            export(args.port, small, headers)
            assert server.process is not None
            before = peak_rss_mb(server.process.pid)
            started = time.perf_counter()
            lines, size = export(args.port, big, headers)
            seconds = time.perf_counter() - started
            after = peak_rss_mb(server.process.pid)
        assert lines == args.messages, (contender.name, lines)
        results[contender.name] = {
            "rows": lines,
            "megabytes_sent": size / 2**20,
            "seconds": seconds,
            "rows_per_second": lines / seconds,
            "peak_rss_before_mb": before,
            "peak_rss_after_mb": after,
            "peak_growth_mb": after - before,
        }
        print(
            f"{contender.name:32} {lines} rows, {size / 2**20:.0f} MB in {seconds:.1f} s; "
            f"peak RSS {before:.0f} -> {after:.0f} MB (+{after - before:.0f})",
            flush=True,
        )

    print(f"\nexport of {args.messages:,} messages, PostgreSQL")
    print("| contender | rows/s | MB sent | peak RSS before | after | growth |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, figures in results.items():
        print(
            f"| {name} | {figures['rows_per_second']:.0f} | {figures['megabytes_sent']:.0f} | "
            f"{figures['peak_rss_before_mb']:.0f} MB | {figures['peak_rss_after_mb']:.0f} MB | "
            f"+{figures['peak_growth_mb']:.0f} MB |"
        )
    growth = results["agora (streamed)"]["peak_growth_mb"]
    print(f"{'PASS' if growth < 50 else 'FAIL'}: agora's peak grows by < 50 MB ({growth:.1f} MB)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "export_memory.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
