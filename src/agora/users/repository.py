"""All SQL about users."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import bindparam, or_, select, update

from agora.db.keyset import Ordering
from agora.db.repository import Repository
from agora.db.search import SearchIndex, text_search
from agora.kernel.principal import Principal
from agora.users.errors import EmailTaken, UsernameTaken, UserNotFound
from agora.users.models import User

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from sqlalchemy import ColumnElement, Row

    from agora.kernel.errors import DomainError


_PRINCIPAL_BY_ID = select(User.id, User.username, User.is_superuser).where(
    User.id == bindparam("id"), User.is_active.is_(True), User.deleted_at.is_(None)
)


# Every column a view of a user shows (see users.schemas), read without building an entity.
_VIEW_BY_ID = select(
    User.id,
    User.username,
    User.full_name,
    User.created_at,
    User.email,
    User.is_active,
    User.is_superuser,
    User.updated_at,
).where(User.id == bindparam("id"), User.deleted_at.is_(None))


_COUNT_POSTS = (
    update(User)
    .where(User.id == bindparam("user"))
    # (A new post is no change to the account: updated_at stays.)
    .values(post_count=User.post_count + bindparam("change"), updated_at=User.updated_at)
)
# What the migrations index for `q` (agora.db.search).
USER_SEARCH = SearchIndex("users", ("username", "full_name", "email"))
OLDEST_FIRST = Ordering("users", User.created_at, User.id)


def matching(
    text: str | None, *, search_email: bool, is_active: bool | None
) -> list[ColumnElement[bool]]:
    """Filters of the user list: `text` in the username, full name (and, with
    `search_email`, the email), and the account state."""
    where: list[ColumnElement[bool]] = []
    if text is not None:
        columns = (User.username, User.full_name, *((User.email,) if search_email else ()))
        where.append(text_search(USER_SEARCH, text, *columns))
    if is_active is not None:
        where.append(User.is_active == is_active)
    return where


class UserRepository(Repository[User]):
    model = User
    constraint_errors: ClassVar[Mapping[str, Callable[[], DomainError]]] = {
        "uq_users_email": EmailTaken,
        "uq_users_username": UsernameTaken,
    }

    async def get_principal_or_none(self, user_id: int) -> Principal | None:
        """The user as a `Principal`, if it exists, is active and is not deleted."""
        row = await self.fetch_row(_PRINCIPAL_BY_ID, {"id": user_id})
        return None if row is None else Principal(row.id, row.username, row.is_superuser)

    async def count_posts(self, user_id: int, change: int) -> None:
        await self.affected(_COUNT_POSTS, {"user": user_id, "change": change})

    async def get_view_row(self, user_id: int) -> Row[Any]:
        """The columns of the user's views, or `NotFound` (deleted users included)."""
        row = await self.fetch_row(_VIEW_BY_ID, {"id": user_id})
        if row is None:
            raise UserNotFound
        return row

    async def get_by_login_or_none(self, login: str) -> User | None:
        """The account whose username or email is `login` (either is unique), deleted or not."""
        normalized = login.strip().lower()
        return await self.get_one_or_none(
            or_(User.username == normalized, User.email == normalized), include_deleted=True
        )
