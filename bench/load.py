"""The project's own load and fault run, on PostgreSQL: what 1,000 clients, a storm of
disconnects, killed backends and a tiny pool do to one `agora serve` worker.

    uv run python -m bench.load [--clients 1000] [--duration 60] [--only mix ...]

Scenarios, each against a fresh server on the same seeded database (1,000 users with
funded wallets and a conversation each):

* ``mix``: `--clients` keep-alive clients for `--duration` s on a realistic mix (60%
  reads: a user, the post list, a product; 20% message batches of 10; 20% transfers
  with their own Idempotency-Key), with the settings README recommends for this machine
  (``AGORA_DB_POOL_TIMEOUT=30``: a full queue waits its turn instead of being shed), and
  beside it the same clients on the reads alone;
* ``disconnects``: `--clients` clients each send a write or ask for an export and hang
  up before (or while) the answer comes; then every next request must be a 2xx within
  the pool timeout;
* ``killed``: 200 clients on the mix while the server's backends are terminated three
  times (``pg_terminate_backend``): 2xx or 503 with Retry-After, never a 500;
* ``restart``: 100 clients on the mix against a PostgreSQL server of the run's own
  (``initdb`` into a temporary directory, as the tests make them), restarted after 5 s:
  no 500, served again within 2 s of the database, every acknowledged write present;
* ``small-pool``: a pool of 2 under 200 clients: every answer a 2xx or a 503 within
  the pool timeout + 1 s.

After each scenario it checks that no connection of the server is left in a
transaction, and at the end that the wallet invariants hold (balances = the ledger,
every transfer has its two sides, money neither made nor lost).
"""

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from typing import Any

import httpx
from tests.postgres_server import PostgresServer

from agora.config import Settings
from agora.db import migrations
from agora.db.engine import run_on_connection
from bench.harness import (
    RESULTS,
    Server,
    agora_contender,
    argument_parser,
    bearer_headers,
    bench_secret,
    connected,
    copy_users,
    create_migrated_database,
    finish_load,
    sqlalchemy_url,
    start_load,
)

DATABASE = "agora_bench_load"
SECRET = bench_secret("load")
USERS = 1_000
BALANCE = 10**9
SCENARIOS = ("mix", "disconnects", "killed", "restart", "small-pool")


SEED_STATEMENTS = (
    "INSERT INTO ledger_entries (user_id, kind, amount_cents, to_user_id, created_at) "
    "SELECT user_id, 'deposit', balance_cents, user_id, now() FROM wallets",
    "INSERT INTO conversations (id, owner_id, title, message_count, created_at, updated_at) "
    "SELECT md5(id::text)::uuid, id, 'load', 0, now(), now() FROM users",
    "INSERT INTO products "
    "(name, description, price_cents, stock, is_active, created_at, updated_at) "
    "SELECT 'product ' || g, 'for the load run', 100, 1000000, true, now(), now() "
    "FROM generate_series(1, 100) g",
    "ANALYZE",
)


async def seed(dsn: str) -> None:
    """`USERS` users with a funded wallet and a conversation each; 100 products."""
    async with connected(dsn) as connection:
        await copy_users(connection, USERS, hashed_password="x")
        await connection.copy_records_to_table(
            "wallets", records=((i, BALANCE) for i in range(1, USERS + 1))
        )
        for statement in SEED_STATEMENTS:
            await connection.execute(statement)


async def conversation_ids(dsn: str) -> dict[int, str]:
    async with connected(dsn) as connection:
        rows = await connection.fetch("SELECT owner_id, id FROM conversations")
        return {row["owner_id"]: str(row["id"]) for row in rows}


def requests(conversations: dict[int, str], *, reads_only: bool = False) -> list[dict[str, Any]]:
    headers = {user: bearer_headers(SECRET, user) for user in conversations}
    rng = random.Random(7)
    specs: list[dict[str, Any]] = []
    for _ in range(20_000):
        user = rng.randint(1, USERS)
        roll = rng.random()
        if reads_only or roll < 0.6:
            path = rng.choice(
                [
                    f"/api/v1/users/{rng.randint(1, USERS)}",
                    "/api/v1/posts?limit=20",
                    f"/api/v1/products/{rng.randint(1, 100)}",
                ]
            )
            specs.append({"path": path, "headers": headers[user]})
        elif roll < 0.8:
            batch = [{"role": "user", "content": f"load message {i}"} for i in range(10)]
            specs.append(
                {
                    "method": "POST",
                    "path": f"/api/v1/conversations/{conversations[user]}/messages",
                    "headers": headers[user],
                    "body": {"messages": batch},
                    "expect": 201,
                }
            )
        else:
            recipient = rng.choice([other for other in range(1, 60) if other != user])
            specs.append(
                {
                    "method": "POST",
                    "path": "/api/v1/wallet/transfers",
                    "headers": {**headers[user], "Idempotency-Key": uuid.uuid4().hex},
                    "body": {"to_user_id": recipient, "amount_cents": 1},
                    "expect": 201,
                }
            )
    return specs


def serve(dsn: str, **environment: str) -> Server:
    settings = {"AGORA_DB_POOL_TIMEOUT": "30", **environment}
    return Server(agora_contender(dsn, SECRET, **settings), 8767)


def five_hundreds(statuses: dict[str, int]) -> int:
    return sum(count for status, count in statuses.items() if status.startswith("5"))


async def in_transaction(dsn: str) -> int:
    """Connections of the server (application_name agora) left in a transaction."""
    async with connected(dsn) as connection:
        await asyncio.sleep(1.0)  # let the last answers finish
        count: int = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'agora' "
            "AND state LIKE 'idle in transaction%'"
        )
        return count


async def disconnect_storm(port: int, specs: list[dict[str, Any]], clients: int) -> None:
    """`clients` connections that each send a request and hang up: at once, or after
    the first bytes of the answer."""

    async def one(number: int) -> None:
        spec = specs[number % len(specs)]
        body = json.dumps(spec["body"]).encode() if "body" in spec else b""
        head = f"{spec.get('method', 'GET')} {spec['path']} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in spec["headers"].items())
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(head.encode() + b"\r\n" + body)
            await writer.drain()
            if number % 2:
                await asyncio.wait_for(reader.read(100), 5)
            writer.transport.abort()
        except (OSError, TimeoutError):
            pass

    await asyncio.gather(*(one(number) for number in range(clients)))


async def kill_backends(dsn: str, times: int, every: float) -> int:
    killed = 0
    async with connected(dsn) as connection:
        for _ in range(times):
            await asyncio.sleep(every)
            killed += len(
                await connection.fetch(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'agora' AND pid <> pg_backend_pid()"
                )
            )
    return killed


async def money_holds(dsn: str) -> bool:
    async with connected(dsn) as connection:
        total = await connection.fetchval("SELECT sum(balance_cents) FROM wallets")
        unexplained = await connection.fetchval(
            "SELECT count(*) FROM wallets w WHERE w.balance_cents <> (SELECT coalesce(sum("
            "CASE WHEN e.to_user_id = e.user_id THEN e.amount_cents ELSE -e.amount_cents END), 0) "
            "FROM ledger_entries e WHERE e.user_id = w.user_id)"
        )
        one_sided = await connection.fetchval(
            "SELECT count(*) FROM (SELECT from_user_id, to_user_id, amount_cents, note "
            "FROM ledger_entries WHERE kind = 'transfer' GROUP BY 1, 2, 3, 4 HAVING "
            "sum(CASE WHEN user_id = from_user_id THEN 1 ELSE -1 END) <> 0) one_sided"
        )
        return bool(total == USERS * BALANCE and unexplained == 0 and one_sided == 0)


async def stored_writes(dsn: str) -> int:
    """Message batches (of 10) and transfers (two entries each) in the database."""
    async with connected(dsn) as connection:
        batches = await connection.fetchval("SELECT count(*) / 10 FROM messages")
        transfers = await connection.fetchval(
            "SELECT count(*) / 2 FROM ledger_entries WHERE kind = 'transfer'"
        )
        return int(batches) + int(transfers)


async def restart_under_load(conversations_for: Any) -> dict[str, Any]:
    server = PostgresServer()
    try:
        server.start()
        dsn = server.url().set(drivername="postgresql").render_as_string()
        settings = Settings(_env_file=None, database_url=sqlalchemy_url(dsn))  # type: ignore[call-arg]
        await run_on_connection(settings.database_url, settings, migrations.upgrade)
        await seed(dsn)
        specs = conversations_for(await conversation_ids(dsn))
        with serve(dsn, AGORA_DB_POOL_TIMEOUT="5") as agora:
            agora.wait_ready("/readyz", {})
            load = start_load(8767, specs, 100, 1, 15, timeout=30)
            await asyncio.sleep(6)
            await asyncio.to_thread(server.restart, "fast")
            back = time.monotonic()
            async with httpx.AsyncClient(base_url="http://127.0.0.1:8767") as client:
                # Polling is the measurement: how soon a retrying client is served.
                while (await client.get("/api/v1/products/1")).status_code != 200:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            healed = time.monotonic() - back
            result = await asyncio.to_thread(finish_load, load)
        acknowledged = result["statuses"].get("201", 0)
        return {
            "load": result,
            "healed": healed,
            "acknowledged": acknowledged,
            "stored": await stored_writes(dsn),
        }
    finally:
        server.remove()


def report(name: str, result: dict[str, Any]) -> None:
    print(
        f"{name:24} {result['rps']:7.0f} req/s  p50 {result['p50_ms']:7.1f} ms  "
        f"p99 {result['p99_ms']:8.1f} ms  max {result['max_ms']:8.1f} ms  "
        f"timeouts {result['timeouts']}  statuses {result['statuses']}",
        flush=True,
    )


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--clients", type=int, default=1_000)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--only", action="append", choices=SCENARIOS)
    args = parser.parse_args()
    chosen = args.only or list(SCENARIOS)
    dsn = asyncio.run(create_migrated_database(DATABASE))
    asyncio.run(seed(dsn))
    conversations = asyncio.run(conversation_ids(dsn))
    mix, reads = requests(conversations), requests(conversations, reads_only=True)
    checks: dict[str, bool] = {}
    figures: dict[str, Any] = {}

    if "mix" in chosen:
        for name, specs in (("reads only", reads), ("mix", mix)):
            with serve(dsn) as server:
                server.wait_ready("/readyz", {})
                result = finish_load(
                    start_load(8767, specs, args.clients, 5, args.duration, timeout=60)
                )
                figures[name] = result
                report(name, result)
                leaked = asyncio.run(in_transaction(dsn))
            if name == "mix":
                checks["mix: no 5xx, no client timeout"] = (
                    five_hundreds(result["statuses"]) == 0 and result["timeouts"] == 0
                )
                checks["mix: no connection left in a transaction"] = leaked == 0

    if "disconnects" in chosen:
        with serve(dsn, AGORA_DB_POOL_TIMEOUT="5") as server:
            server.wait_ready("/readyz", {})
            exports = [
                {
                    "path": f"/api/v1/conversations/{conversations[user]}/export",
                    "headers": spec["headers"],
                }
                for user, spec in zip(range(1, USERS + 1), mix, strict=False)
            ]
            started = time.monotonic()
            asyncio.run(disconnect_storm(8767, [*mix[:500], *exports[:500]], args.clients))
            stormed = time.monotonic() - started
            after = Counter(
                httpx.get(
                    f"http://127.0.0.1:8767{spec['path']}", headers=spec["headers"], timeout=6
                ).status_code
                for spec in reads[:50]
            )
            leaked = asyncio.run(in_transaction(dsn))
        print(
            f"disconnects: {args.clients} clients hung up in {stormed:.1f} s; "
            f"the next 50 reads: {dict(after)}; left in a transaction: {leaked}"
        )
        checks["disconnects: the next requests are all 2xx"] = set(after) == {200}
        checks["disconnects: no connection left in a transaction"] = leaked == 0

    if "killed" in chosen:
        with serve(dsn) as server:
            server.wait_ready("/readyz", {})
            load = start_load(8767, mix, 200, 2, 20, timeout=30)
            killed = asyncio.run(kill_backends(dsn, 3, 5))
            result = finish_load(load)
            report("killed backends", result)
            leaked = asyncio.run(in_transaction(dsn))
        print(f"killed {killed} backends in three rounds")
        bad = {s: c for s, c in result["statuses"].items() if s.startswith("5") and s != "503"}
        checks["killed: no 500"] = not bad
        checks["killed: no connection left in a transaction"] = leaked == 0

    if "restart" in chosen:
        restart = asyncio.run(restart_under_load(conversations_for=requests))
        report("restart, 100 clients", restart["load"])
        print(
            f"restart: served again {restart['healed']:.2f} s after the database; "
            f"{restart['acknowledged']} writes acknowledged, {restart['stored']} stored"
        )
        bad = {
            s: c for s, c in restart["load"]["statuses"].items() if s.startswith("5") and s != "503"
        }
        checks["restart: no 500"] = not bad
        checks["restart: served within 2 s of the database"] = restart["healed"] < 2.0
        checks["restart: every acknowledged write is stored"] = (
            restart["stored"] >= restart["acknowledged"]
        )

    if "small-pool" in chosen:
        with serve(dsn, AGORA_DB_POOL_SIZE="2", AGORA_DB_POOL_TIMEOUT="2") as server:
            server.wait_ready("/readyz", {})
            # agora_contender sets its own pool size: the environment above wins.
            result = finish_load(start_load(8767, mix, 200, 2, 20, timeout=30))
            report("pool of 2, 200 clients", result)
            leaked = asyncio.run(in_transaction(dsn))
        only = set(result["statuses"]) <= {"200", "201", "503"}
        checks["small pool: only 2xx and 503"] = only
        checks["small pool: every answer within pool timeout + 1 s"] = result["max_ms"] <= 3000
        checks["small pool: no connection left in a transaction"] = leaked == 0

    checks["the wallet invariants hold"] = asyncio.run(money_holds(dsn))
    print()
    for check, held in checks.items():
        print(f"{'PASS' if held else 'FAIL'}: {check}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps({"figures": figures, "checks": checks}, indent=2))


if __name__ == "__main__":
    main()
