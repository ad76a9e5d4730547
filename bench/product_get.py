"""Benchmark: ``GET /api/v1/products/{id}``, anonymous, on PostgreSQL.

agora against the same endpoint with raw asyncpg on FastAPI (one ``fetchrow``).

Target: agora >= 50% of the raw-asyncpg throughput.

    uv run python -m bench.product_get [--products 10000] [--rounds 3] ...
"""

import asyncio
import random

from agora.admin.seed import SeedPlan
from bench.harness import (
    compare_with_raw_asyncpg,
    create_seeded_database,
    load_argument_parser,
)

DATABASE = "agora_bench_products"
SECRET = "bench-secret-" + "q" * 40


def main() -> None:
    parser = load_argument_parser(__doc__)
    parser.add_argument("--products", type=int, default=10_000)
    args = parser.parse_args()

    plan = SeedPlan(users=0, posts=0, messages=0, products=args.products, orders=0)
    dsn = asyncio.run(create_seeded_database(DATABASE, plan))
    rng = random.Random(42)
    requests = [{"path": f"/api/v1/products/{rng.randint(1, args.products)}"} for _ in range(1000)]
    compare_with_raw_asyncpg(
        args,
        dsn,
        SECRET,
        name="product_get",
        title="GET /api/v1/products/{id}, PostgreSQL",
        requests=requests,
        target_ratio=0.5,
    )


if __name__ == "__main__":
    main()
