"""GET /admin/exports/{users|posts|orders}: every row, streamed, for admins."""

from functools import partial

from fastapi.responses import StreamingResponse

from agora.admin.catalog import HttpExport, export_columns
from agora.admin.service import export_rows
from agora.api.routing import api_router
from agora.api.security import AdminUser
from agora.api.streaming import MEDIA_TYPES, ExportsDep
from agora.db.bulk import FileFormat

router = api_router("/admin", tags=["admin"])


@router.get(
    "/exports/{name}",
    response_class=StreamingResponse,
    responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}}},
)
async def export_table(
    name: HttpExport,
    admin: AdminUser,
    exports: ExportsDep,
    format: FileFormat = "ndjson",
) -> StreamingResponse:
    """Every row, oldest first, as NDJSON or CSV, streamed from the database. Users never
    include their password hash. CSV cells that a spreadsheet would run as a formula
    (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) get a leading `'`."""
    return await exports.start(
        admin.id,
        partial(export_rows, name=name),
        file_format=format,
        columns=export_columns(name),
        filename=name,
    )
