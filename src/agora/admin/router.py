"""GET /admin/exports/{users|posts|orders}: every row, streamed, for admins."""

from collections.abc import AsyncIterator, Sequence
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from agora.admin.catalog import export_columns
from agora.admin.service import export_rows
from agora.api.dependencies import AdminUser, database_of
from agora.api.routing import TransactionalRoute
from agora.api.streaming import MEDIA_TYPES, ExportFormat, export_response
from agora.db.repository import AnyRow

router = APIRouter(prefix="/admin", tags=["admin"], route_class=TransactionalRoute)


@router.get(
    "/exports/{name}",
    response_class=StreamingResponse,
    responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}}},
)
async def export_table(
    name: Literal["users", "posts", "orders"],
    _admin: AdminUser,
    request: Request,
    format: ExportFormat = "ndjson",
) -> StreamingResponse:
    """Every row, oldest first, as NDJSON or CSV, streamed from the database. Users never
    include their password hash."""

    def batches(session: AsyncSession) -> AsyncIterator[Sequence[AnyRow]]:
        return export_rows(session, name)

    return export_response(
        database_of(request),
        batches,
        file_format=format,
        columns=export_columns(name),
        filename=name,
    )
