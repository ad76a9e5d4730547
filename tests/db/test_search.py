"""`q` is answered through each database's own search index (agora.db.search)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from agora.db.search import SCAN_WINDOW, TextSearch, choose_search, text_search
from agora.db.session import Database
from agora.kernel.pages import PageRequest
from agora.posts.models import Post
from agora.posts.repository import NEWEST_FIRST, POST_SEARCH
from agora.users.models import User
from agora.users.repository import USER_SEARCH


async def plan_of(session: AsyncSession, dialect: str, statement: Any) -> str:
    """The database's plan for `statement`, as text."""
    compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    explain = {
        "postgresql": "EXPLAIN ",
        "mariadb": "EXPLAIN ",
        "sqlite": "EXPLAIN QUERY PLAN ",
    }[dialect]
    if dialect == "postgresql":
        # The test tables are tiny: a sequential scan would win; ask what the index does.
        await session.execute(text("SET LOCAL enable_seqscan = off"))
    rows = (await session.execute(text(explain + str(compiled)))).all()
    return "\n".join(" ".join(str(value) for value in row) for row in rows)


async def test_a_search_reads_the_search_index(session: AsyncSession, dialect: str) -> None:
    searched = select(Post.id).where(text_search(POST_SEARCH, "harbor", Post.title, Post.content))
    plan = await plan_of(session, dialect, searched)
    assert "search_posts" in plan, plan


async def test_text_shorter_than_a_trigram_is_still_found_by_scanning(
    session: AsyncSession,
) -> None:
    session.add(User(email="q@example.com", username="qz", hashed_password="x"))
    await session.flush()
    found = await session.scalars(
        select(User.username).where(text_search(USER_SEARCH, "QZ", User.username))
    )
    assert list(found) == ["qz"]


@pytest.mark.dialects("sqlite")  # PostgreSQL and MariaDB keep their own indexes
async def test_sqlite_search_table_follows_inserts_updates_and_deletes(
    session: AsyncSession,
) -> None:
    author = User(email="w@example.com", username="writer", hashed_password="x")
    session.add(author)
    await session.flush()
    post = Post(author_id=author.id, title="Lighthouse keeping", content="Café crème")
    session.add(post)
    await session.flush()

    async def titles(query: str) -> list[str]:
        condition = text_search(POST_SEARCH, query, Post.title, Post.content)
        return list(await session.scalars(select(Post.title).where(condition)))

    assert await titles("HOUSE") == ["Lighthouse keeping"]
    # FTS5 folds case beyond ASCII, where SQLite's LIKE does not.
    assert await titles("CAFÉ CRÈME") == ["Lighthouse keeping"]
    assert await titles('say "hi"') == []  # quotes are text, not query syntax
    await session.execute(update(Post).where(Post.id == post.id).values(title="Harbor master"))
    assert await titles("house") == []
    assert await titles("harbor") == ["Harbor master"]
    await session.delete(post)
    await session.flush()
    assert await titles("harbor") == []


async def test_a_search_scans_for_common_text_and_asks_the_index_for_rare_text(
    live_database: Database, live_client: httpx.AsyncClient, dialect: str
) -> None:
    """Either way the answer is the same; only its cost differs (choose_search)."""
    moment = datetime(2026, 1, 1, tzinfo=UTC)

    async def write(session: AsyncSession) -> None:
        author = User(email="s@example.com", username="searcher", hashed_password="x")
        session.add(author)
        await session.flush()
        rows = [("Rare zebrafinch sighting", moment)]
        rows += [(f"filler {n}", moment + timedelta(seconds=n)) for n in range(SCAN_WINDOW)]
        rows += [(f"harbor {n}", moment + timedelta(days=1, seconds=n)) for n in range(30)]
        await session.execute(
            insert(Post),
            [
                {
                    "author_id": author.id,
                    "title": title,
                    "content": "c",
                    "created_at": at,
                    "updated_at": at,
                }
                for title, at in rows
            ],
        )

    await live_database.run_in_transaction(write)

    async def chosen(text_: str) -> bool:
        async def choose(session: AsyncSession) -> bool:
            search = TextSearch(POST_SEARCH, text_, (Post.title, Post.content))
            picked = await choose_search(
                session, search, select(Post), NEWEST_FIRST, PageRequest(20)
            )
            return picked.scan

        return await live_database.run_in_transaction(choose, read_only=True)

    if dialect != "postgresql":  # (its planner chooses)
        assert await chosen("harbor") is True
        assert await chosen("zebrafinch") is False
    common = (await live_client.get("/api/v1/posts", params={"q": "HARBOR"})).json()
    assert [item["title"] for item in common["items"]] == [f"harbor {n}" for n in range(29, 9, -1)]
    rare = (await live_client.get("/api/v1/posts", params={"q": "zebrafinch"})).json()
    assert [item["title"] for item in rare["items"]] == ["Rare zebrafinch sighting"]
    following = await live_client.get(
        "/api/v1/posts", params={"q": "harbor", "cursor": common["next_cursor"]}
    )
    assert [item["title"] for item in following.json()["items"]] == [
        f"harbor {n}" for n in range(9, -1, -1)
    ]
