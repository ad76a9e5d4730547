"""Benchmark: latency as the data grows. The requests of issue 13's table, one at a time
on an idle server (`agora serve`), at each size of a seeded blog, on PostgreSQL, MariaDB
and SQLite; beside each, the database's own time for the statements the request runs
(recorded once in process, then replayed on a plain connection).

Targets: at 500,000 posts on PostgreSQL and MariaDB every request under 20 ms (p50) and
within 1.5x of its time at 50,000 posts; SQLite within 3x of its 50,000-post time.

    uv run python -m bench.growth [--sizes 50000,500000] [--databases postgresql,...]

Seeded databases are kept (agora_growth_<posts> on each server, bench/results/*.db for
SQLite) and reused by the next run when they hold the same number of posts; --reseed
starts over.
"""

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import URL, make_url

from agora.admin.seed import Seeder, SeedPlan
from agora.api.params import encode_position
from agora.config import Settings
from agora.db import migrations
from agora.db.engine import run_on_connection
from agora.db.session import Database
from agora.kernel.pages import Position
from agora.main import create_app
from agora.posts.models import Post
from bench.harness import RESULTS, ROOT, argument_parser

SERVERS = {
    "postgresql": "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
    "mariadb": "mysql+aiomysql://root@127.0.0.1:3306/{name}",
    "sqlite": "sqlite+aiosqlite:///" + str(RESULTS / "{name}.db"),
}
ADMIN_DATABASE = {"postgresql": "postgres", "mariadb": "mysql"}
MISSING_WORD = "zebrafinch"


def settings_for(url: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=url, argon2_time_cost=1, rate_limits_enabled=False
    )


async def recreate(dialect: str, url: URL) -> None:
    if dialect == "sqlite":
        await asyncio.to_thread(Path(str(url.database)).unlink, missing_ok=True)
        return
    admin = url.set(database=ADMIN_DATABASE[dialect])

    async def drop_and_create(connection: Any) -> None:
        quoted = url.database if dialect == "mariadb" else f'"{url.database}"'
        outside = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await outside.execute(text(f"DROP DATABASE IF EXISTS {quoted}"))
        await outside.execute(text(f"CREATE DATABASE {quoted}"))

    await run_on_connection(admin, settings_for(str(admin)), drop_and_create)


async def post_count(url: str) -> int | None:
    try:
        async with Database.from_settings(settings_for(url)) as database:
            return await database.run_in_transaction(
                lambda session: session.scalar(select(func.count()).select_from(Post)),
                read_only=True,
            )
    except Exception:
        return None


async def prepare(dialect: str, posts: int, reseed: bool) -> str:
    """A migrated database with `posts` seeded posts (reused when it has them)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    url = SERVERS[dialect].format(name=f"agora_growth_{posts}")
    seeded = RESULTS / "growth-seeded.json"
    done = json.loads(seeded.read_text()) if seeded.exists() else {}
    if not reseed and done.get(url) == posts and await post_count(url) == posts:
        return url
    await recreate(dialect, make_url(url))
    settings = settings_for(url)
    await run_on_connection(url, settings, migrations.upgrade)
    plan = SeedPlan(users=max(posts // 50, 10), posts=posts, messages=0, products=1000, orders=0)
    started = time.monotonic()
    async with Database.from_settings(settings) as database:
        await Seeder(database, settings, plan).run(lambda stage, done, total: None)
        await database.run_in_transaction(vacuum_statement(dialect))
    print(f"seeded {posts:,} posts on {dialect} in {time.monotonic() - started:.0f} s")
    seeded.write_text(json.dumps({**done, url: posts}))
    return url


def vacuum_statement(dialect: str) -> Any:
    """What autovacuum would have done by now: PostgreSQL's visibility map (index-only
    scans) and statistics."""

    async def tidy(session: Any) -> None:
        if dialect == "postgresql":
            connection = await session.connection()
            raw = await connection.get_raw_connection()
            await raw.driver_connection.execute("VACUUM ANALYZE")

    return tidy


async def request_paths(url: str) -> dict[str, str]:
    """The requests of the table, with ids and cursors taken from the data."""
    async with Database.from_settings(settings_for(url)) as database:

        async def facts(session: Any) -> tuple[Any, ...]:
            count = await session.scalar(select(func.count()).select_from(Post))
            middle = (
                await session.execute(
                    select(Post.created_at, Post.id)
                    .where(Post.is_published.is_(True))
                    .order_by(Post.created_at.desc(), Post.id.desc())
                    .offset(count // 2)
                    .limit(1)
                )
            ).one()
            author = await session.scalar(
                text("SELECT username FROM users ORDER BY id LIMIT 1 OFFSET 3")
            )
            post_id = await session.scalar(
                select(func.max(Post.id)).where(Post.is_published.is_(True))
            )
            return middle, author, post_id

        middle, author, post_id = await database.run_in_transaction(facts, read_only=True)
    deep = encode_position(Position("posts", (middle.created_at, middle.id)))
    return {
        "first page": "/api/v1/posts?limit=20",
        "offset 10,000 (the cap)": "/api/v1/posts?limit=20&offset=10000",
        "half-way, by cursor": f"/api/v1/posts?limit=20&cursor={deep}",
        "q=harbor": "/api/v1/posts?q=harbor",
        f"q={MISSING_WORD} (nowhere)": f"/api/v1/posts?q={MISSING_WORD}",
        "tag=sql": "/api/v1/posts?tag=sql",
        "tag=garden (no such tag)": "/api/v1/posts?tag=garden",
        "/tags": "/api/v1/tags",
        "/stats/authors": "/api/v1/stats/authors",
        "author=...": f"/api/v1/posts?author={author}",
        "/posts/{id}": f"/api/v1/posts/{post_id}",
        "/products": "/api/v1/products",
        "/products?q=": "/api/v1/products?q=harbor",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(url: str, source: Path | None = None) -> Iterator[str]:
    """`agora serve` on `url`, of this checkout or of the one whose src is `source`."""
    port = free_port()
    environment = {**os.environ, "AGORA_DATABASE_URL": url, "AGORA_RATE_LIMITS_ENABLED": "false"}
    if source is not None:
        environment["PYTHONPATH"] = str(source)
    process = subprocess.Popen(
        [sys.executable, "-m", "agora", "serve", "--port", str(port)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)


def server_times(base: str, paths: dict[str, str], repeat: int) -> dict[str, float]:
    """p50 in ms of each request, one at a time, after one warm-up."""
    times: dict[str, float] = {}
    with httpx.Client(base_url=base, timeout=120) as client:
        for name, path in paths.items():
            samples = []
            for attempt in range(repeat + 1):
                started = time.perf_counter()
                response = client.get(path)
                elapsed = time.perf_counter() - started
                assert response.status_code == 200, (name, response.text[:200])
                if attempt:
                    samples.append(elapsed * 1000)
            times[name] = statistics.median(samples)
    return times


WRITES = ("POST /posts (2 tags)", "PATCH /posts/{id} (tags)", "POST /posts/{id}/comments")


def write_times(base: str, repeat: int) -> dict[str, float]:
    """p50 in ms of the blog's writes, by a new user, one at a time; what they wrote is
    deleted afterwards (so the seeded database keeps its size)."""
    samples: dict[str, list[float]] = {name: [] for name in WRITES}
    with httpx.Client(base_url=base, timeout=120) as client:
        name = f"writer{time.time_ns()}"
        account = {"username": name, "email": f"{name}@example.com", "password": "w" * 12}
        assert client.post("/api/v1/users", json=account).status_code == 201
        login = client.post("/api/v1/auth/token", data={**account, "username": name})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        created = []

        def timed(write: str, method: str, path: str, body: dict[str, Any]) -> Any:
            started = time.perf_counter()
            response = client.request(method, path, json=body, headers=headers)
            samples[write].append((time.perf_counter() - started) * 1000)
            assert response.is_success, (write, response.text[:200])
            return response.json()

        for n in range(repeat + 1):
            post = timed(
                WRITES[0],
                "POST",
                "/api/v1/posts",
                {"title": f"bench {n}", "content": "harbor light", "tags": ["sql", "bench"]},
            )
            created.append(post["id"])
            timed(WRITES[1], "PATCH", f"/api/v1/posts/{post['id']}", {"tags": ["sql", "db"]})
            timed(WRITES[2], "POST", f"/api/v1/posts/{post['id']}/comments", {"content": "hi"})
        for post_id in created:
            client.delete(f"/api/v1/posts/{post_id}", headers=headers)
    return {write: statistics.median(times[1:]) for write, times in samples.items()}


async def database_times(url: str, paths: dict[str, str], repeat: int) -> dict[str, float]:
    """p50 in ms of the statements each request runs, replayed on a plain connection."""
    settings = settings_for(url)
    async with Database.from_settings(settings) as database:
        recorded: list[tuple[str, Any]] = []

        def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            recorded.append((statement, parameters))

        engines = [engine.sync_engine for engine in database.engines]
        app = create_app(settings, database=database)
        statements: dict[str, list[tuple[str, Any]]] = {}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            for name, path in paths.items():
                for engine in engines:
                    event.listen(engine, "before_cursor_execute", record)
                recorded.clear()
                assert (await client.get(path)).status_code == 200, name
                for engine in engines:
                    event.remove(engine, "before_cursor_execute", record)
                statements[name] = list(recorded)
        times: dict[str, float] = {}
        async with database.engines[0].connect() as connection:
            for name, replayed in statements.items():
                samples = []
                for attempt in range(repeat + 1):
                    started = time.perf_counter()
                    for statement, parameters in replayed:
                        await connection.exec_driver_sql(statement, parameters)
                    if attempt:
                        samples.append((time.perf_counter() - started) * 1000)
                times[name] = statistics.median(samples)
                await connection.rollback()
        return times


def writes_against(revision: str, posts: int, repeat: int) -> dict[str, Any]:
    """The blog's writes on PostgreSQL at `posts` posts, in this checkout and in
    `revision` (a git worktree, its own database seeded by its own code), in one run."""
    url = asyncio.run(prepare("postgresql", posts, reseed=False))
    before = RESULTS / f"worktree-{revision}"
    if not before.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(before), revision], check=True)
    old_url = SERVERS["postgresql"].format(name=f"agora_growth_{posts}_{revision}")
    old = {**os.environ, "PYTHONPATH": str(before / "src"), "AGORA_DATABASE_URL": old_url}
    if asyncio.run(post_count(old_url)) != posts:
        asyncio.run(recreate("postgresql", make_url(old_url)))
        users = str(max(posts // 50, 10))
        for command in (
            ["db", "upgrade"],
            [
                "db",
                "seed",
                "--users",
                users,
                "--posts",
                str(posts),
                "--messages",
                "0",
                "--products",
                "0",
                "--orders",
                "0",
            ],
        ):
            subprocess.run([sys.executable, "-m", "agora", *command], env=old, check=True)
    with served(old_url, before / "src") as base:
        baseline = write_times(base, repeat)
    with served(url) as base:
        now = write_times(base, repeat)
    return {
        write: {"now_ms": round(now[write], 2), f"{revision}_ms": round(baseline[write], 2)}
        for write in WRITES
    }


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--sizes", default="50000,500000")
    parser.add_argument("--databases", default="postgresql,mariadb,sqlite")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument(
        "--writes-against",
        metavar="REVISION",
        help="only compare the blog's writes with those of REVISION, on PostgreSQL",
    )
    args = parser.parse_args()
    if args.writes_against:
        sizes = [int(size) for size in args.sizes.split(",")]
        compared = writes_against(args.writes_against, sizes[0], args.repeat)
        print(json.dumps(compared, indent=2))
        (RESULTS / "growth-writes.json").write_text(json.dumps(compared, indent=2))
        return
    sizes = [int(size) for size in args.sizes.split(",")]
    report: dict[str, Any] = {"command": " ".join(sys.argv), "at": datetime.now(UTC).isoformat()}
    for dialect in args.databases.split(","):
        for posts in sizes:
            url = asyncio.run(prepare(dialect, posts, args.reseed))
            paths = asyncio.run(request_paths(url))
            with served(url) as base:
                at_server = server_times(base, paths, args.repeat)
                writes = write_times(base, args.repeat)
            in_database = asyncio.run(database_times(url, paths, args.repeat))
            report[f"{dialect} {posts}"] = {
                name: {"server_ms": round(at_server[name], 2), "db_ms": round(in_database[name], 2)}
                for name in paths
            } | {name: {"server_ms": round(ms, 2), "db_ms": None} for name, ms in writes.items()}
            (RESULTS / "growth.json").write_text(json.dumps(report, indent=2))
    print_table(report, sizes)
    print(f"results: {RESULTS / 'growth.json'}")


def print_table(report: dict[str, Any], sizes: list[int]) -> None:
    for key, rows in report.items():
        if not isinstance(rows, dict):
            continue
        dialect, posts = key.split()
        base = report.get(f"{dialect} {sizes[0]}")
        print(f"\n{dialect}, {int(posts):,} posts: server p50 ms (db ms) [x of {sizes[0]:,}]")
        for name, row in rows.items():
            growth = row["server_ms"] / base[name]["server_ms"] if base else 1
            database = "" if row["db_ms"] is None else f"({row['db_ms']:.2f})"
            print(f"  {name:32} {row['server_ms']:8.2f} {database:>8} [{growth:.2f}x]")


if __name__ == "__main__":
    main()
