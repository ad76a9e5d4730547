"""Demo data: realistic, repeatable with a seed, loaded in chunks.

Rows are generated chunk by chunk and written with the bulk path of the data-access kit
(COPY on PostgreSQL), so a million messages load without memory growing with the count.
Seeded users share one password, `DEMO_PASSWORD`, whose argon2 hash is computed once,
in a worker thread, with the configured parameters: every seeded account can log in.
Money moves only through the wallet and shop services (deposits, then orders placed like
any other), so the seeded books balance exactly as real ones do.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from agora.db.base import Base
from agora.db.bulk import CHUNK_ROWS, analyze, bulk_insert, chunked, realign_key_sequence
from agora.kernel.errors import Conflict
from agora.kernel.principal import Principal
from agora.posts.service import PostService
from agora.shop.schemas import OrderCreate, OrderLine
from agora.shop.service import ShopService
from agora.users.passwords import PasswordHasher
from agora.wallet.schemas import DepositRequest
from agora.wallet.service import WalletService

if TYPE_CHECKING:
    from collections.abc import Awaitable, Iterator

    from sqlalchemy import Table
    from sqlalchemy.ext.asyncio import AsyncSession

    from agora.config import Settings
    from agora.db.session import Database

DEMO_PASSWORD = "agora-demo"  # noqa: S105  (documented: the demo accounts' password)
MESSAGES_PER_CONVERSATION = 500

# The vocabulary of every generated text (the benchmarks draw from it too).
WORDS = [
    "river",
    "stone",
    "market",
    "garden",
    "bright",
    "quiet",
    "morning",
    "signal",
    "harbor",
    "lantern",
    "copper",
    "meadow",
    "orbit",
    "velvet",
    "canyon",
    "ember",
    "maple",
    "tide",
    "pixel",
    "anchor",
    "summit",
    "thread",
    "compass",
    "willow",
    "cobalt",
    "prairie",
    "lumen",
    "echo",
    "cedar",
]
_FIRST_NAMES = [
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Margaret",
    "Radia",
]
_LAST_NAMES = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Hamilton",
]
_TAGS = [
    "python",
    "sql",
    "async",
    "design",
    "data",
    "testing",
    "ops",
    "security",
    "ux",
    "performance",
]


@dataclass(frozen=True, slots=True)
class SeedPlan:
    users: int = 100
    posts: int = 500
    messages: int = 10_000
    products: int = 50
    orders: int = 200
    seed: int = 42


# Orders refused in a row (out of stock, out of money) before the seeder stops ordering.
_REFUSALS_BEFORE_GIVING_UP = 50
# (what is being seeded, how many are done, how many in all)
Progress = Callable[[str, int, int], None]


class Seeder:
    def __init__(self, database: Database, settings: Settings, plan: SeedPlan) -> None:
        self.database = database
        self.settings = settings
        self.plan = plan
        self.rng = random.Random(plan.seed)  # noqa: S311  (demo data, not secrets)
        self.now = datetime.now(UTC)

    def _sentence(self, words: int) -> str:
        return " ".join(self.rng.choices(WORDS, k=words)).capitalize()

    def _moment(self) -> datetime:
        return self.now - timedelta(seconds=self.rng.randint(0, 365 * 24 * 3600))

    async def run(self, progress: Progress) -> SeedPlan:
        """Seed the database; the plan as carried out (fewer orders if the shop ran dry)."""
        user_ids = await self._users(progress)
        await self._posts(user_ids, progress)
        await self._chats(user_ids, progress)
        await self._products(progress)
        placed = await self._orders(user_ids, progress)
        await self._analyze()
        # After the statistics: without them SQLite counted each author's posts by
        # walking every published post.
        await self.database.run_in_transaction(lambda session: PostService(session).recount())
        return replace(self.plan, orders=placed)

    async def _analyze(self) -> None:
        async def refresh(session: AsyncSession) -> None:
            connection = await session.connection()
            for table in Base.metadata.sorted_tables:
                await analyze(connection, table)

        await self.database.run_in_transaction(refresh)

    async def _load(
        self,
        table: Table,
        rows: Iterator[dict[str, Any]],
        total: int,
        progress: Progress,
        *,
        explicit_keys: bool,
    ) -> None:
        """Write `rows` in chunks, one transaction per chunk; then, if the rows carried
        their ids, move the table's sequence past them."""
        done = 0
        progress(table.name, 0, total)
        for chunk in chunked(rows, CHUNK_ROWS):

            async def write(session: AsyncSession, rows: list[dict[str, Any]] = chunk) -> None:
                await bulk_insert(await session.connection(), table, rows)

            await self.database.run_in_transaction(write)
            done += len(chunk)
            progress(table.name, done, total)
        if explicit_keys:

            async def realign(session: AsyncSession) -> None:
                await realign_key_sequence(await session.connection(), table)

            await self.database.run_in_transaction(realign)

    async def _next_id(self, table: Table) -> int:
        async def highest(session: AsyncSession) -> int:
            value = await session.scalar(select(func.max(table.c.id)))
            return int(value or 0)

        return await self.database.run_in_transaction(highest, read_only=True) + 1

    async def _users(self, progress: Progress) -> list[int]:
        table = Base.metadata.tables["users"]
        first = await self._next_id(table)
        hashed = await PasswordHasher.from_settings(self.settings).hash(DEMO_PASSWORD)
        ids = list(range(first, first + self.plan.users))

        def rows() -> Iterator[dict[str, Any]]:
            for user_id in ids:
                name = f"s{self.plan.seed}_{user_id}"
                joined = self._moment()
                yield {
                    "id": user_id,
                    "email": f"{name}@demo.agora.test",
                    "username": name,
                    "full_name": f"{self.rng.choice(_FIRST_NAMES)} {self.rng.choice(_LAST_NAMES)}",
                    "hashed_password": hashed,
                    "is_active": True,
                    "is_superuser": False,
                    "created_at": joined,
                    "updated_at": joined,
                    "deleted_at": None,
                }

        await self._load(table, rows(), len(ids), progress, explicit_keys=True)
        return ids

    async def _posts(self, user_ids: list[int], progress: Progress) -> None:
        if not user_ids or not self.plan.posts:
            return
        posts = Base.metadata.tables["posts"]

        async def tag_ids(session: AsyncSession) -> list[int]:
            # In name order: the same seed draws the same tags whatever order they come in.
            ids = await PostService(session).named_tags(_TAGS)
            return [ids[name] for name in sorted(ids)]

        tags = await self.database.run_in_transaction(tag_ids)
        first = await self._next_id(posts)
        post_ids = range(first, first + self.plan.posts)
        links: list[dict[str, Any]] = []
        comments: list[dict[str, Any]] = []

        def rows() -> Iterator[dict[str, Any]]:
            for post_id in post_ids:
                written = self._moment()
                published = self.rng.random() < 0.9
                links.extend(
                    {
                        "post_id": post_id,
                        "tag_id": tag_id,
                        "created_at": written,
                        "is_published": published,
                    }
                    for tag_id in self.rng.sample(tags, self.rng.randint(0, 3))
                )
                comments.extend(
                    {
                        "post_id": post_id,
                        "author_id": self.rng.choice(user_ids),
                        "content": self._sentence(12),
                        "created_at": written + timedelta(hours=hour + 1),
                    }
                    for hour in range(self.rng.randint(0, 4))
                )
                yield {
                    "id": post_id,
                    "author_id": self.rng.choice(user_ids),
                    "title": self._sentence(5),
                    "content": "\n\n".join(self._sentence(30) for _ in range(3)),
                    "is_published": published,
                    "created_at": written,
                    "updated_at": written,
                }

        await self._load(posts, rows(), len(post_ids), progress, explicit_keys=True)
        tables = Base.metadata.tables
        await self._load(
            tables["post_tags"], iter(links), len(links), progress, explicit_keys=False
        )
        await self._load(
            tables["comments"], iter(comments), len(comments), progress, explicit_keys=False
        )

    async def _chats(self, user_ids: list[int], progress: Progress) -> None:
        if not user_ids or not self.plan.messages:
            return
        tables = Base.metadata.tables
        counts = [MESSAGES_PER_CONVERSATION] * (self.plan.messages // MESSAGES_PER_CONVERSATION)
        if self.plan.messages % MESSAGES_PER_CONVERSATION:
            counts.append(self.plan.messages % MESSAGES_PER_CONVERSATION)
        conversations: list[dict[str, Any]] = [
            {
                "id": uuid.UUID(int=self.rng.getrandbits(128), version=4),
                "owner_id": self.rng.choice(user_ids),
                "title": self._sentence(4),
                "message_count": count,
                "created_at": self._moment(),
            }
            for count in counts
        ]
        for conversation in conversations:
            conversation["updated_at"] = conversation["created_at"]
        await self._load(
            tables["conversations"],
            iter(conversations),
            len(conversations),
            progress,
            explicit_keys=False,
        )

        def messages() -> Iterator[dict[str, Any]]:
            for conversation, count in zip(conversations, counts, strict=True):
                for index in range(count):
                    yield {
                        "conversation_id": conversation["id"],
                        "role": ("user", "assistant")[index % 2],
                        "content": self._sentence(self.rng.randint(5, 60)),
                        "created_at": conversation["created_at"] + timedelta(seconds=index),
                    }

        await self._load(
            tables["messages"], messages(), self.plan.messages, progress, explicit_keys=False
        )

    async def _products(self, progress: Progress) -> None:
        def rows() -> Iterator[dict[str, Any]]:
            for _ in range(self.plan.products):
                listed = self._moment()
                yield {
                    "name": f"{self.rng.choice(WORDS).capitalize()} {self.rng.choice(WORDS)}",
                    "description": self._sentence(20),
                    "price_cents": self.rng.randint(100, 50_000),
                    "stock": self.rng.randint(0, 500),
                    "is_active": self.rng.random() < 0.95,
                    "created_at": listed,
                    "updated_at": listed,
                }

        products = Base.metadata.tables["products"]
        await self._load(products, rows(), self.plan.products, progress, explicit_keys=False)

    async def _orders(self, user_ids: list[int], progress: Progress) -> int:
        """Place orders until the plan's count is reached, or until the shop refuses
        _REFUSALS_BEFORE_GIVING_UP in a row (stock or money ran out): the number placed."""
        if not user_ids or not self.plan.orders:
            return 0
        products = Base.metadata.tables["products"]

        async def for_sale(session: AsyncSession) -> list[int]:
            statement = (
                select(products.c.id)
                .where(products.c.is_active.is_(True), products.c.stock > 0)
                .order_by(products.c.id)  # the same seed draws the same products everywhere
            )
            return list((await session.execute(statement)).scalars())

        catalogue = await self.database.run_in_transaction(for_sale, read_only=True)
        if not catalogue:
            return 0
        buyer_ids = self.rng.sample(user_ids, min(len(user_ids), self.plan.orders))
        for buyer_id in buyer_ids:
            amount = self.rng.randint(50_000, 500_000)
            await self.database.run_in_transaction(
                _deposit(DepositRequest(user_id=buyer_id, amount_cents=amount))
            )
        placed = refusals = 0
        progress("orders", 0, self.plan.orders)
        while placed < self.plan.orders and refusals < _REFUSALS_BEFORE_GIVING_UP:
            buyer = Principal(self.rng.choice(buyer_ids), "", is_superuser=False)
            order = OrderCreate(
                items=[
                    OrderLine(product_id=product_id, quantity=self.rng.randint(1, 3))
                    for product_id in self.rng.sample(catalogue, min(3, len(catalogue)))
                ]
            )
            try:
                await self.database.run_in_transaction(_place(buyer, order))
            except Conflict:
                refusals += 1  # out of stock or out of money: draw another order
                continue
            placed, refusals = placed + 1, 0
            progress("orders", placed, self.plan.orders)
        if placed < self.plan.orders:
            progress("orders", placed, placed)  # the bar ends where the orders did
        return placed


def _deposit(deposit: DepositRequest) -> Callable[[AsyncSession], Awaitable[object]]:
    async def work(session: AsyncSession) -> object:
        return await WalletService(session).deposit(deposit)

    return work


def _place(buyer: Principal, order: OrderCreate) -> Callable[[AsyncSession], Awaitable[object]]:
    async def work(session: AsyncSession) -> object:
        return await ShopService(session).place_order(buyer, order)

    return work
