"""GET /admin/exports/{users|posts|orders}: every row, streamed, for admins."""

from functools import partial

from fastapi.responses import StreamingResponse

from agora.admin.catalog import HttpExport, export_columns
from agora.admin.service import export_rows
from agora.api.dependencies import DatabaseDep
from agora.api.routing import api_router
from agora.api.security import AdminUser
from agora.api.streaming import MEDIA_TYPES, export_response
from agora.db.bulk import FileFormat

router = api_router("/admin", tags=["admin"])


@router.get(
    "/exports/{name}",
    response_class=StreamingResponse,
    responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}}},
)
async def export_table(
    name: HttpExport,
    _admin: AdminUser,
    database: DatabaseDep,
    format: FileFormat = "ndjson",
) -> StreamingResponse:
    """Every row, oldest first, as NDJSON or CSV, streamed from the database. Users never
    include their password hash."""
    return export_response(
        database,
        partial(export_rows, name=name),
        file_format=format,
        columns=export_columns(name),
        filename=name,
    )
