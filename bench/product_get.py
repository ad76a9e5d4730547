"""Benchmark: ``GET /api/v1/products/{id}``, anonymous, on PostgreSQL.

agora against the same endpoint with raw asyncpg on FastAPI (one ``fetchrow``).

Target: agora >= 50% of the raw-asyncpg throughput.

    uv run python -m bench.product_get [--products 10000] [--rounds 3] ...
"""

import asyncio

from agora.admin.seed import SeedPlan
from bench.harness import (
    bench_secret,
    compare_with_raw_asyncpg,
    create_seeded_database,
    load_argument_parser,
    random_id_paths,
)

DATABASE = "agora_bench_products"
SECRET = bench_secret("product_get")


async def create_database(products: int) -> str:
    """The benchmark's database, migrated and seeded with `products` products; its DSN."""
    plan = SeedPlan(users=0, posts=0, messages=0, products=products, orders=0)
    return await create_seeded_database(DATABASE, plan)


def main() -> None:
    parser = load_argument_parser(__doc__)
    parser.add_argument("--products", type=int, default=10_000)
    args = parser.parse_args()

    dsn = asyncio.run(create_database(args.products))
    requests = [{"path": path} for path in random_id_paths("/api/v1/products/{}", args.products)]
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
