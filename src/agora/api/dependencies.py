"""The dependencies every router uses: the request's session and the database.

Every dependency is ``async def``, even when it awaits nothing: FastAPI runs a plain
``def`` dependency in a worker thread.
"""

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from agora.api.routing import request_session
from agora.db.session import Database


async def get_session(request: Request) -> AsyncSession:
    """The session of the request's unit of work, opened (and committed, or rolled back)
    by `agora.api.routing.TransactionalRoute`."""
    return request_session(request)


async def get_database(request: Request) -> Database:
    """The app's `Database`, for work that outlives the request's unit of work (a
    streamed export reads from a snapshot of its own)."""
    database: Database = request.app.state.database
    return database


SessionDep = Annotated[AsyncSession, Depends(get_session)]
DatabaseDep = Annotated[Database, Depends(get_database)]
