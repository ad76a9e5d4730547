"""HTTP endpoints for accounts (/users)."""

from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response, status
from sqlalchemy import Row

from agora.api.dependencies import SessionDep
from agora.api.params import Pagination, PathId, SearchText
from agora.api.routing import api_router
from agora.api.schemas import Page, json_response
from agora.api.security import CurrentUser
from agora.kernel.principal import Principal
from agora.users.models import User
from agora.users.passwords import PasswordHasher
from agora.users.schemas import UserCreate, UserPrivate, UserPublic, UserUpdate
from agora.users.service import UserService, can_see_private_view

router = api_router("/users", tags=["users"])


async def get_user_service(session: SessionDep) -> UserService:
    return UserService(session)


async def get_password_hasher(request: Request) -> PasswordHasher:
    passwords: PasswordHasher = request.app.state.password_hasher
    return passwords


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
PasswordHasherDep = Annotated[PasswordHasher, Depends(get_password_hasher)]


def _view(actor: Principal, user: Row[Any]) -> Response:
    view = UserPrivate if can_see_private_view(actor, user.id) else UserPublic
    return json_response(view.model_validate(user))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPrivate,
    responses={409: {"description": "email_taken or username_taken"}},
)
async def register(data: UserCreate, users: UserServiceDep, passwords: PasswordHasherDep) -> User:
    """Create an account. Email and username are stored lower-case."""
    return await users.register(data, passwords)


@router.get("/me", response_model=UserPrivate)
async def read_me(actor: CurrentUser, users: UserServiceDep) -> Response:
    return _view(actor, await users.read(actor.id))


@router.get("", response_model=Page[UserPrivate] | Page[UserPublic])
async def list_users(
    actor: CurrentUser,
    users: UserServiceDep,
    pagination: Pagination,
    q: SearchText = None,
    is_active: Annotated[bool | None, Query(description="Admins only.")] = None,
) -> Page[UserPrivate] | Page[UserPublic]:
    """Users that are not deleted, oldest first. Admins get private views and may search
    emails and filter by `is_active`; everyone else gets public views."""
    result = await users.search(
        actor, text=q, is_active=is_active, limit=pagination.limit, offset=pagination.offset
    )
    page_type = Page[UserPrivate] if actor.is_superuser else Page[UserPublic]
    return page_type.model_validate(pagination.page(result))


@router.get("/{user_id}", response_model=UserPrivate | UserPublic)
async def read_user(user_id: PathId, actor: CurrentUser, users: UserServiceDep) -> Response:
    """The private view for yourself and for admins, the public view otherwise."""
    return _view(actor, await users.read(user_id))


@router.patch(
    "/{user_id}",
    response_model=UserPrivate,
    responses={
        403: {"description": "not yourself, or is_active without being an admin"},
        409: {"description": "email_taken or username_taken"},
    },
)
async def update_user(
    user_id: PathId,
    data: UserUpdate,
    actor: CurrentUser,
    users: UserServiceDep,
    passwords: PasswordHasherDep,
) -> User:
    """Change only the fields sent. A new password is hashed; admins may set `is_active`."""
    return await users.update(actor, user_id, data, passwords)


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(user_id: PathId, actor: CurrentUser, users: UserServiceDep) -> Response:
    """Soft delete: the account can no longer log in and disappears, its data is kept."""
    await users.delete(actor, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
