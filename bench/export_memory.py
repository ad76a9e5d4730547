"""Benchmark: server memory while exporting conversations of 100,000, 200,000 and
1,000,000 messages.

agora streams ``GET /api/v1/conversations/{id}/export`` from a server-side cursor; the
baseline (bench/baselines.py) fetches every row and then sends them, the way an export
is often first written. Each server runs pinned to CPU 0. Its peak resident set
(``VmHWM`` in /proc, which only grows) is read after a warm-up export of 10 messages and
again after each export, smallest first.

Targets: agora's peak grows by less than 50 MB with the 200,000-message export, and by
less than 50 MB between the 100,000- and the 1,000,000-message export: memory does not
follow the row count.

    uv run python -m bench.export_memory [--sizes 100000 200000 1000000]
    uv run python -m bench.export_memory --sizes 500 2000 --message-bytes 100000
"""

import asyncio
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.harness import (
    RESULTS,
    Contender,
    Server,
    agora_contender,
    argument_parser,
    baseline_contender,
    bearer_headers,
    bench_secret,
    copy_users,
    create_migrated_database,
)

DATABASE = "agora_bench_chat"
SECRET = bench_secret("export_memory")
WORDS = (
    "the of and to in is you that it he was for on are as with his they at be this".split()  # noqa: SIM905
)


WARM_UP = 10


async def seed(dsn: str, sizes: list[int], message_bytes: int | None) -> dict[int, uuid.UUID]:
    """One user owning a conversation of each size (and one for warming up), of messages
    of 40 words or, with `message_bytes`, of that many bytes each."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    conversations = {size: uuid.uuid4() for size in [WARM_UP, *sizes]}
    connection = await asyncpg.connect(dsn)
    try:
        await copy_users(connection, 1, hashed_password="x")
        await connection.executemany(
            "INSERT INTO conversations (id, owner_id, title, message_count, created_at,"
            " updated_at) VALUES ($1, 1, $2, $3, $4, $4)",
            [(c, f"{size} messages", size, now) for size, c in conversations.items()],
        )
        records = (
            (
                conversation,
                ("user", "assistant")[index % 2],
                "x" * message_bytes if message_bytes else " ".join(rng.choices(WORDS, k=40)),
                now + timedelta(microseconds=index),
            )
            for size, conversation in conversations.items()
            for index in range(size)
        )
        await connection.copy_records_to_table(
            "messages",
            columns=["conversation_id", "role", "content", "created_at"],
            records=records,
        )
        await connection.execute("ANALYZE messages")
    finally:
        await connection.close()
    return conversations


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc")


def export(port: int, conversation: uuid.UUID, headers: dict[str, str]) -> tuple[int, int]:
    """Stream the export, counting lines and bytes, keeping nothing."""
    lines = size = 0
    url = f"http://127.0.0.1:{port}/api/v1/conversations/{conversation}/export"
    with httpx.stream("GET", url, headers=headers, timeout=1200) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            lines += chunk.count(b"\n")
            size += len(chunk)
    return lines, size


def contenders(dsn: str) -> list[Contender]:
    return [
        agora_contender(dsn, SECRET).variant("agora (streamed)"),
        baseline_contender(
            "all rows, then send (baseline)", "create_naive_export_app", dsn, SECRET, pool_size=2
        ),
    ]


def measure(
    contender: Contender, port: int, conversations: dict[int, uuid.UUID], headers: dict[str, str]
) -> dict[str, Any]:
    """The warm-up peak, then per size: rows/s and the peak after its export."""
    with Server(contender, port) as server:
        server.wait_ready(f"/api/v1/conversations/{conversations[WARM_UP]}/export", headers)
        export(port, conversations[WARM_UP], headers)
        assert server.process is not None
        baseline_peak = peak_rss_mb(server.process.pid)
        exports = {}
        for size, conversation in conversations.items():
            if size == WARM_UP:
                continue
            started = time.perf_counter()
            lines, sent = export(port, conversation, headers)
            seconds = time.perf_counter() - started
            assert lines == size, (contender.name, size, lines)
            peak = peak_rss_mb(server.process.pid)
            exports[str(size)] = {
                "megabytes_sent": sent / 2**20,
                "seconds": seconds,
                "rows_per_second": size / seconds,
                "peak_rss_mb": peak,
                "growth_mb": peak - baseline_peak,
            }
            print(
                f"{contender.name:32} {size:>9} rows, {sent / 2**20:5.0f} MB in {seconds:5.1f} s;"
                f" peak RSS {peak:6.0f} MB (+{peak - baseline_peak:.0f})",
                flush=True,
            )
    return {"warm_up_peak_rss_mb": baseline_peak, "exports": exports}


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 200_000, 1_000_000])
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument(
        "--message-bytes", type=int, help="messages of this size (e.g. 100000) instead of 40 words"
    )
    args = parser.parse_args()
    sizes = sorted(set(args.sizes))

    dsn = asyncio.run(create_migrated_database(DATABASE))
    conversations = asyncio.run(seed(dsn, sizes, args.message_bytes))
    headers = bearer_headers(SECRET, 1)
    results = {
        contender.name: measure(contender, args.port, conversations, headers)
        for contender in contenders(dsn)
    }

    print("\nexports of one conversation, PostgreSQL; peak RSS growth over the warm-up peak")
    print("| contender | warm-up peak | " + " | ".join(f"{s:,} rows" for s in sizes) + " |")
    print("|---|---:|" + "---:|" * len(sizes))
    for name, figures in results.items():
        cells = [
            f"+{e['growth_mb']:.0f} MB, {e['rows_per_second']:.0f} rows/s"
            for e in figures["exports"].values()
        ]
        print(f"| {name} | {figures['warm_up_peak_rss_mb']:.0f} MB | " + " | ".join(cells) + " |")
    agora = results["agora (streamed)"]["exports"]
    if "200000" in agora:
        growth = agora["200000"]["growth_mb"]
        verdict = "PASS" if growth < 50 else "FAIL"
        print(f"{verdict}: 200,000 messages grow agora's peak by < 50 MB ({growth:.1f} MB)")
    if "100000" in agora and "1000000" in agora:
        growth = agora["1000000"]["peak_rss_mb"] - agora["100000"]["peak_rss_mb"]
        verdict = "PASS" if growth < 50 else "FAIL"
        print(
            f"{verdict}: agora's peak grows by < 50 MB between 100,000 and 1,000,000 rows"
            f" ({growth:.1f} MB)"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "export_memory.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
