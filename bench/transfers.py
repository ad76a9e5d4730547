"""Benchmark: ``POST /api/v1/wallet/transfers`` between random users, on PostgreSQL.

agora against the same transaction written with raw asyncpg on FastAPI: check caller
and recipient, create missing wallets, lock both in id order, debit, credit, write the
two ledger rows. Every request is a real transfer (201); there is no target, the figures
are reported: throughput and tail latency under contention for the same wallets.

    uv run python -m bench.transfers [--users 1000] [--senders 200] [--rounds 3] ...
"""

import asyncio
import random
from datetime import UTC, datetime

import asyncpg

from bench.harness import (
    bearer_headers,
    bench_secret,
    compare_with_raw_asyncpg,
    copy_users,
    create_migrated_database,
    load_argument_parser,
)

DATABASE = "agora_bench_transfers"
SECRET = bench_secret("transfers")
BALANCE = 10**12


async def seed(dsn: str, users: int) -> None:
    """`users` accounts, each with a wallet deposited far beyond what the run can spend."""
    now = datetime.now(UTC)
    connection = await asyncpg.connect(dsn)
    try:
        await copy_users(connection, users, hashed_password="x")
        await connection.copy_records_to_table(
            "wallets", records=((i, BALANCE) for i in range(1, users + 1))
        )
        await connection.copy_records_to_table(
            "ledger_entries",
            columns=["user_id", "kind", "amount_cents", "to_user_id", "created_at"],
            records=((i, "deposit", BALANCE, i, now) for i in range(1, users + 1)),
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def main() -> None:
    parser = load_argument_parser(__doc__)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--senders", type=int, default=200)
    args = parser.parse_args()

    dsn = asyncio.run(create_migrated_database(DATABASE))
    asyncio.run(seed(dsn, args.users))
    rng = random.Random(42)
    requests = []
    for _ in range(2000):
        sender = rng.randint(1, args.senders)
        recipient = rng.choice([user for user in range(1, 50) if user != sender])
        requests.append(
            {
                "method": "POST",
                "path": "/api/v1/wallet/transfers",
                "headers": bearer_headers(SECRET, sender),
                "body": {"to_user_id": recipient, "amount_cents": 1},
                "expect": 201,
            }
        )
    compare_with_raw_asyncpg(
        args,
        dsn,
        SECRET,
        name="transfers",
        title="POST /api/v1/wallet/transfers, PostgreSQL",
        requests=requests,
        ready={"path": "/api/v1/posts"},
    )


if __name__ == "__main__":
    main()
