"""Benchmark: other users' writes during a flood of wrong-password logins, on PostgreSQL.

The same agora server twice per round: writers alone (``POST /api/v1/posts`` by many
users), then the same writers while a second load generator sends wrong-password logins
for one account as fast as it is answered. A login reads the account, steps out of its
unit of work for the argon2 verification (the real default cost) and waits its turn at
the hasher (one per core), or is refused with 503 `service_busy` past a short wait; the
writers should not notice. Figures: the writers' throughput and p99 alone and under the
flood, and what the flood got (401s, and 503s counted as its "errors").

    uv run python -m bench.login_flood [--flood 60] [--connections 16] [--rounds 3]
"""

import argparse
import asyncio
import json
import statistics

from agora.users.passwords import PasswordHasher
from bench.harness import (
    RESULTS,
    Server,
    agora_contender,
    bearer_headers,
    bench_secret,
    create_migrated_database,
    finish_load,
    load_argument_parser,
    seed_users,
    start_load,
)

DATABASE = "agora_bench_login_flood"
SECRET = bench_secret("login_flood")
WRITERS = 200


async def seed(dsn: str) -> None:
    """`WRITERS` accounts sharing one argon2 hash made with the default (production) cost."""
    hashed = await PasswordHasher(time_cost=3, memory_cost_kib=65536, parallelism=4).hash(
        "the right password"
    )
    await seed_users(dsn, WRITERS, hashed)


def writes() -> list[dict[str, object]]:
    return [
        {
            "method": "POST",
            "path": "/api/v1/posts",
            "headers": bearer_headers(SECRET, user),
            "body": {"title": f"Post by {user}", "content": "Written during the benchmark."},
            "expect": 201,
        }
        for user in range(1, WRITERS + 1)
    ]


FLOOD = [
    {
        "method": "POST",
        "path": "/api/v1/auth/token",
        "form": {"username": "user1", "password": "a wrong password"},
        "expect": 401,
    }
]


def run_round(args: argparse.Namespace, dsn: str, *, flooded: bool) -> dict[str, dict[str, float]]:
    with Server(agora_contender(dsn, SECRET), args.port) as server:
        server.wait_ready("/api/v1/posts", {})
        flood = None
        if flooded:
            flood = start_load(
                args.port, FLOOD, args.flood, args.warmup, args.duration, name="flood"
            )
        writers = finish_load(
            start_load(
                args.port, writes(), args.connections, args.warmup, args.duration, name="writes"
            )
        )
        result = {"writers": writers}
        if flood is not None:
            result["flood"] = finish_load(flood)
    return result


def main() -> None:
    parser = load_argument_parser(__doc__)
    parser.set_defaults(connections=16)
    parser.add_argument("--flood", type=int, default=60, help="connections sending logins")
    args = parser.parse_args()
    dsn = asyncio.run(create_migrated_database(DATABASE))
    asyncio.run(seed(dsn))

    rounds: dict[str, list[dict[str, dict[str, float]]]] = {"alone": [], "flooded": []}
    for number in range(args.rounds):
        for case in ("alone", "flooded"):
            result = run_round(args, dsn, flooded=case == "flooded")
            rounds[case].append(result)
            writers = result["writers"]
            line = (
                f"round {number + 1} {case:8} writers {writers['rps']:6.0f} req/s "
                f"p50 {writers['p50_ms']:6.1f} ms p99 {writers['p99_ms']:6.1f} ms "
                f"errors {writers['errors']} timeouts {writers['timeouts']}"
            )
            if "flood" in result:
                flood = result["flood"]
                line += (
                    f" | logins {flood['rps']:5.0f}/s, refused 503 {flood['errors']}, "
                    f"p50 {flood['p50_ms']:.0f} ms"
                )
            print(line, flush=True)

    def median(case: str, key: str) -> float:
        return statistics.median(r["writers"][key] for r in rounds[case])

    print(
        f"\nPOST /api/v1/posts by {args.connections} connections, alone and beside "
        f"{args.flood} connections of wrong-password logins; medians of {args.rounds} rounds"
    )
    print("| writers | req/s | p50 ms | p99 ms | errors+timeouts |")
    print("|---|---:|---:|---:|---:|")
    for case in ("alone", "flooded"):
        failed = sum(r["writers"]["errors"] + r["writers"]["timeouts"] for r in rounds[case])
        print(
            f"| {case} | {median(case, 'rps'):.0f} | {median(case, 'p50_ms'):.1f} | "
            f"{median(case, 'p99_ms'):.1f} | {failed:.0f} |"
        )
    logins = [r["flood"] for r in rounds["flooded"]]
    print(
        f"logins answered: {statistics.median(f['rps'] for f in logins):.0f}/s, "
        f"of which 503 service_busy: {sum(f['errors'] for f in logins):.0f} "
        f"of {sum(f['requests'] for f in logins):.0f}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "login_flood.json").write_text(json.dumps(rounds, indent=2))


if __name__ == "__main__":
    main()
