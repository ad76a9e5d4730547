"""HTTP endpoints for accounts (/users)."""

from typing import Annotated

from fastapi import Depends, Query, Request, Response, status

from agora.api.dependencies import SessionDep
from agora.api.params import Pagination, PathId, SearchText
from agora.api.ratelimit import ClientAddress, RateLimiterDep, limit_registrations
from agora.api.routing import api_router
from agora.api.schemas import not_found
from agora.api.security import CurrentUser
from agora.users.errors import InvalidCurrentPassword
from agora.users.passwords import PasswordHasher
from agora.users.schemas import (
    UserCreate,
    UserCursorList,
    UserList,
    UserPrivate,
    UserPublic,
    UserUpdate,
    UserView,
)
from agora.users.service import UserService

router = api_router("/users", tags=["users"])
NO_SUCH_USER = not_found("no such user, or deleted")


async def get_user_service(session: SessionDep) -> UserService:
    return UserService(session)


async def get_password_hasher(request: Request) -> PasswordHasher:
    passwords: PasswordHasher = request.app.state.password_hasher
    return passwords


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
PasswordHasherDep = Annotated[PasswordHasher, Depends(get_password_hasher)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPrivate,
    responses={409: {"description": "email_taken or username_taken"}},
    dependencies=[Depends(limit_registrations)],
)
async def register(
    data: UserCreate, users: UserServiceDep, passwords: PasswordHasherDep
) -> UserPrivate:
    """Create an account. Email and username are stored lower-case."""
    return await users.register(data, passwords)


@router.get("/me", response_model=UserPrivate)
async def read_me(actor: CurrentUser, users: UserServiceDep) -> UserPublic:
    return await users.read(actor, actor.id)


@router.get(
    "",
    response_model=UserList | UserCursorList,
    responses={403: {"description": "forbidden: is_active without being an admin"}},
)
async def list_users(
    actor: CurrentUser,
    users: UserServiceDep,
    pagination: Pagination,
    q: SearchText = None,
    is_active: Annotated[bool | None, Query(description="Admins only.")] = None,
) -> UserList | UserCursorList:
    """Users that are not deleted, oldest first. Admins get private views and may search
    emails and filter by `is_active`; everyone else gets public views."""
    result = await users.search(actor, text=q, is_active=is_active, page=pagination.request)
    return pagination.listing(result, UserList, UserCursorList)


@router.get("/{user_id}", response_model=UserView, responses=NO_SUCH_USER)
async def read_user(user_id: PathId, actor: CurrentUser, users: UserServiceDep) -> UserPublic:
    """The private view for yourself and for admins, the public view otherwise."""
    return await users.read(actor, user_id)


@router.patch(
    "/{user_id}",
    response_model=UserPrivate,
    responses={
        **NO_SUCH_USER,
        403: {
            "description": "not yourself, is_active without being an admin, or "
            "invalid_current_password (own password or email)"
        },
        429: {"description": "rate_limited: too many wrong current passwords"},
        409: {"description": "email_taken or username_taken"},
    },
)
async def update_user(
    user_id: PathId,
    data: UserUpdate,
    actor: CurrentUser,
    users: UserServiceDep,
    passwords: PasswordHasherDep,
    limiter: RateLimiterDep,
    address: ClientAddress,
) -> UserPrivate:
    """Change only the fields sent. A new password is hashed; admins may set `is_active`.
    One's own password or email changes only with `current_password`, whose wrong
    guesses count (and are limited) like failed logins of the account."""
    if not data.needs_current_password(actor.id, user_id):
        return await users.update(actor, user_id, data, passwords)
    await limiter.check_login(actor.username, address)
    try:
        return await users.update(actor, user_id, data, passwords)
    except InvalidCurrentPassword:
        await limiter.count_failed_login(actor.username, address)
        raise


@router.delete(
    "/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NO_SUCH_USER, 403: {"description": "not yourself"}},
)
async def delete_user(user_id: PathId, actor: CurrentUser, users: UserServiceDep) -> Response:
    """Soft delete: the account can no longer log in and disappears, its data is kept."""
    await users.delete(actor, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
