"""What the auth feature refuses."""

from agora.kernel.errors import NotAuthenticated


class InvalidToken(NotAuthenticated):
    default_code = "invalid_token"
    default_detail = "The access token is invalid or has expired."
