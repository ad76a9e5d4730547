"""Business rules for accounts: who may see, change and delete which user, and whose
password opens which account.

Like every service, it answers with read models (`UserPrivate`, `UserPublic`): which view
of an account a caller gets is a rule of this feature, decided here and nowhere else."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agora.db.session import without_database
from agora.kernel.principal import Principal
from agora.users.errors import (
    AdminsOnly,
    InvalidCredentials,
    InvalidCurrentPassword,
    NotYourAccount,
)
from agora.users.models import User
from agora.users.repository import OLDEST_FIRST, UserRepository, matching
from agora.users.schemas import UserPrivate, UserPublic
from agora.users.sessions import SessionService
from agora.users.strength import ensure_not_guessable

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from agora.kernel.pages import PageRequest, PageResult
    from agora.users.passwords import PasswordHasher
    from agora.users.schemas import UserCreate, UserUpdate


def can_see_private_view(actor: Principal, user_id: int) -> bool:
    return actor.id == user_id or actor.is_superuser


def _view_for(actor: Principal, user_id: int) -> type[UserPublic]:
    return UserPrivate if can_see_private_view(actor, user_id) else UserPublic


class UserService:
    """Accounts. The methods that hash or verify a password are given the app's
    `PasswordHasher`; the others need only the session.

    A hash is computed `without_database`: the unit of work gives its connection and its
    place in the pool back for the ~100 ms it takes, so a flood of logins cannot hold the
    database (or SQLite's write lock) from everyone else."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.users = UserRepository(session)
        self.sessions = SessionService(session)

    async def register(
        self, data: UserCreate, passwords: PasswordHasher, *, is_superuser: bool = False
    ) -> UserPrivate:
        """A new active account; `email_taken`/`username_taken` when either is in use."""
        password = data.password.get_secret_value()
        async with without_database(self.session):
            await ensure_not_guessable(password, (data.username, data.email))
            hashed_password = await passwords.hash(password)
        user = User(
            email=data.email,
            username=data.username,
            full_name=data.full_name,
            hashed_password=hashed_password,
            is_superuser=is_superuser,
        )
        return UserPrivate.model_validate(await self.users.add(user))

    async def read(self, actor: Principal, user_id: int) -> UserPublic:
        """Any signed-in user may read any account: the private view for oneself and for
        admins, the public view for everyone else."""
        row = await self.users.get_view_row(user_id)
        return _view_for(actor, user_id).model_validate(row)

    async def get_principal_or_none(self, user_id: int) -> Principal | None:
        """The user as a `Principal`, if it exists, is active and is not deleted."""
        return await self.users.get_principal_or_none(user_id)

    async def check_credentials(
        self, login: str, password: str, passwords: PasswordHasher
    ) -> Principal:
        """The account named by username or email, if the password matches.

        Unknown, deleted and deactivated accounts fail exactly like a wrong password, and
        take as long, so an answer never tells which accounts exist. A hash made with
        weaker parameters than today's is replaced.
        """
        user = await self.users.get_by_login_or_none(login)
        async with without_database(self.session):
            if user is None:
                await passwords.verify_decoy(password)
                raise InvalidCredentials
            matches, updated_hash = await passwords.verify(password, user.hashed_password)
            if not matches or user.is_deleted or not user.is_active:
                raise InvalidCredentials
        if updated_hash is not None:
            await self.users.update(user, {"hashed_password": updated_hash})
        return Principal(user.id, user.username, user.is_superuser)

    async def search(
        self, actor: Principal, *, text: str | None, is_active: bool | None, page: PageRequest
    ) -> PageResult[UserPublic]:
        """Accounts that are not deleted, oldest first: private views for admins, who
        alone may search emails and filter by account state."""
        if is_active is not None and not actor.is_superuser:
            raise AdminsOnly("Only admins can filter users by is_active.")
        where = matching(text, search_email=actor.is_superuser, is_active=is_active)
        found = await self.users.list_and_count(*where, ordering=OLDEST_FIRST, page=page)
        view = UserPrivate if actor.is_superuser else UserPublic
        return found.map(view.model_validate)

    async def count_published_posts(self, user_id: int, change: int) -> None:
        """Add `change` to the user's published post count (the blog keeps it)."""
        if change:
            await self.users.count_posts(user_id, change)

    async def update(
        self, actor: Principal, user_id: int, data: UserUpdate, passwords: PasswordHasher
    ) -> UserPrivate:
        """Change the fields sent. A new password ends every other session of the user
        (all of them when an admin sets it); deactivating ends all of them."""
        user = await self.users.get(user_id)
        _ensure_can_manage(actor, user)
        changes = data.changes()
        current = changes.pop("current_password", None)
        if "is_active" in changes and not actor.is_superuser:
            raise AdminsOnly("Only admins can activate or deactivate accounts.")
        if data.needs_current_password(actor.id, user_id):
            if current is None:
                raise InvalidCurrentPassword
            async with without_database(self.session):
                matches, _ = await passwords.verify(
                    current.get_secret_value(), user.hashed_password
                )
            if not matches:
                raise InvalidCurrentPassword
        if (password := changes.pop("password", None)) is not None:
            names = (changes.get("username", user.username), changes.get("email", user.email))
            async with without_database(self.session):
                await ensure_not_guessable(password.get_secret_value(), names)
                changes["hashed_password"] = await passwords.hash(password.get_secret_value())
        updated = await self.users.update(user, changes)
        if changes.get("is_active") is False:
            await self.sessions.end_all(user_id)
        elif "hashed_password" in changes:
            await self.sessions.end_all(
                user_id, keep=actor.session_id if actor.id == user_id else None
            )
        return UserPrivate.model_validate(updated)

    async def delete(self, actor: Principal, user_id: int) -> None:
        """Soft delete, ending every session of the user."""
        user = await self.users.get(user_id)
        _ensure_can_manage(actor, user)
        await self.users.delete(user)
        await self.sessions.end_all(user_id)


def _ensure_can_manage(actor: Principal, user: User) -> None:
    if not can_see_private_view(actor, user.id):
        raise NotYourAccount
