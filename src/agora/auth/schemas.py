"""Bodies of the token endpoint."""

from typing import Literal

from agora.api.schemas import OutputModel


class TokenResponse(OutputModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
