"""Request and response bodies for users. No schema here has a password or hash to give."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    ConfigDict,
    Discriminator,
    EmailStr,
    Field,
    SecretStr,
    StringConstraints,
    Tag,
)

from agora.api.schemas import CursorPage, InputModel, OutputModel, Page, UpdateModel
from agora.users.models import EMAIL_MAX_LENGTH, FULL_NAME_MAX_LENGTH
from agora.users.models import USERNAME_MAX_LENGTH as USERNAME_MAX_LENGTH

PASSWORD_MIN_LENGTH = 8
# argon2 pre-hashes any length, but a cap keeps a megabyte "password" from being a DoS.
PASSWORD_MAX_LENGTH = 128

Email = Annotated[EmailStr, Field(max_length=EMAIL_MAX_LENGTH), AfterValidator(str.lower)]
# ASCII letters, digits, "_", "." and "-": no look-alike Unicode, no "@" (so a login
# string is unambiguously an email or a username), stored lower-case.
Username = Annotated[
    str,
    StringConstraints(min_length=3, max_length=USERNAME_MAX_LENGTH, pattern=r"^[A-Za-z0-9_.-]+$"),
    AfterValidator(str.lower),
]
Password = Annotated[
    SecretStr, Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)
]
FullName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=FULL_NAME_MAX_LENGTH)
]


class UserCreate(InputModel):
    email: Email
    username: Username
    password: Password
    full_name: FullName | None = None


class UserUpdate(UpdateModel):
    nullable_fields: ClassVar[frozenset[str]] = frozenset({"full_name"})

    email: Email | None = None
    username: Username | None = None
    password: Password | None = None
    full_name: FullName | None = None
    is_active: bool | None = Field(default=None, description="Admins only.")
    current_password: SecretStr | None = Field(
        default=None,
        max_length=PASSWORD_MAX_LENGTH,
        description="Needed to change one's own password or email.",
    )

    def needs_current_password(self, actor_id: int, user_id: int) -> bool:
        """Whether this change is one's own password or email."""
        return actor_id == user_id and bool({"password", "email"} & self.model_fields_set)


class UserPublic(OutputModel):
    # The schemas say that a view has exactly its fields, so that a private view (which
    # has more) is never also a valid public one: `UserView` is then exactly one of them.
    model_config = ConfigDict(json_schema_extra={"additionalProperties": False})

    id: int
    username: str
    full_name: str | None
    created_at: datetime


class UserPrivate(UserPublic):
    email: str
    is_active: bool
    is_superuser: bool
    updated_at: datetime


def _view_kind(view: Any) -> str:
    return "private" if isinstance(view, UserPrivate) else "public"


# The view a caller gets of an account (see `UserService.read`). Tagged by its class, so
# that validating and serializing one never tries the other first.
UserView = Annotated[
    Annotated[UserPrivate, Tag("private")] | Annotated[UserPublic, Tag("public")],
    Discriminator(_view_kind),
]


class UserList(Page[UserView]):
    """A page of users: private views for admins, public views for everyone else."""


class UserCursorList(CursorPage[UserView]):
    """A page of users after a cursor."""


class UserRef(OutputModel):
    """How other resources name a user: the author of a post, the owner of a chat."""

    id: int
    username: str


class SessionView(OutputModel):
    """A live sign-in of the caller's. `last_used_at`: when it last issued tokens (its
    login or a refresh)."""

    id: int
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    current: bool = Field(description="Whether this is the session of the calling token.")


class SessionList(Page[SessionView]):
    """A page of the caller's live sessions, newest first."""


class SessionCursorList(CursorPage[SessionView]):
    """A page of sessions after a cursor."""
