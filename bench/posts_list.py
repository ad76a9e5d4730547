"""Benchmark: ``GET /api/v1/posts`` (a page of 20 with authors, tags and comment counts),
anonymous, on a seeded PostgreSQL database.

agora against the same JSON built with raw asyncpg on FastAPI (one query for the page,
with the tags and counts as subqueries, and one for the total).

Target: agora >= 40% of the raw-asyncpg throughput.

    uv run python -m bench.posts_list [--posts 20000] [--rounds 3] ...
"""

import asyncio
import random

from agora.admin.seed import SeedPlan
from bench.harness import (
    bench_secret,
    compare_with_raw_asyncpg,
    create_seeded_database,
    load_argument_parser,
)

DATABASE = "agora_bench_posts"
SECRET = bench_secret("posts_list")


def main() -> None:
    parser = load_argument_parser(__doc__)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--posts", type=int, default=20_000)
    args = parser.parse_args()

    plan = SeedPlan(users=args.users, posts=args.posts, messages=0, products=0, orders=0)
    dsn = asyncio.run(create_seeded_database(DATABASE, plan))
    rng = random.Random(42)
    requests = [
        {"path": f"/api/v1/posts?limit=20&offset={rng.randint(0, 500)}"} for _ in range(500)
    ]
    compare_with_raw_asyncpg(
        args,
        dsn,
        SECRET,
        name="posts_list",
        title="GET /api/v1/posts (20 per page), PostgreSQL",
        requests=requests,
        target_ratio=0.4,
    )


if __name__ == "__main__":
    main()
