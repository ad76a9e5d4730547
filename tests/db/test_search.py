"""`q` is answered through each database's own search index (agora.db.search)."""

from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from agora.db.search import text_search
from agora.posts.models import Post
from agora.posts.repository import POST_SEARCH
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


async def test_sqlite_search_table_follows_inserts_updates_and_deletes(
    session: AsyncSession, dialect: str
) -> None:
    if dialect != "sqlite":
        pytest.skip("PostgreSQL and MariaDB keep their own indexes")
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
