"""Benchmark: ``GET /api/v1/products/{id}``, anonymous, on PostgreSQL.

agora against the same endpoint with raw asyncpg on FastAPI (one ``fetchrow``).

Target: agora >= 50% of the raw-asyncpg throughput.

    uv run python -m bench.product_get [--products 10000] [--rounds 3] ...
"""

import argparse
import asyncio
import random

from agora.admin.seed import SeedPlan
from bench.harness import (
    Comparison,
    add_load_arguments,
    agora_contender,
    baseline_contender,
    compare,
    create_migrated_database,
    seed_demo,
)

DATABASE = "agora_bench_products"
SECRET = "bench-secret-" + "q" * 40


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_load_arguments(parser)
    parser.add_argument("--products", type=int, default=10_000)
    args = parser.parse_args()

    dsn = asyncio.run(create_migrated_database(DATABASE))
    plan = SeedPlan(users=0, posts=0, messages=0, products=args.products, orders=0)
    asyncio.run(seed_demo(dsn, plan))
    rng = random.Random(42)
    requests = [{"path": f"/api/v1/products/{rng.randint(1, args.products)}"} for _ in range(1000)]
    compare(
        Comparison(
            name="product_get",
            title="GET /api/v1/products/{id}, PostgreSQL",
            requests=requests,
            contenders=[
                agora_contender(dsn, SECRET),
                baseline_contender("fastapi+asyncpg", "create_catalogue_app", dsn, SECRET),
            ],
            baseline="fastapi+asyncpg",
            target_ratio=0.5,
        ),
        args,
    )


if __name__ == "__main__":
    main()
