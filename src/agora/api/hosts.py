"""Which ``Host`` headers are served: `Settings.allowed_hosts` (checked at the edge,
`agora.api.edge.Edge`; another host is 400 ``invalid_host``).

Starlette builds absolute URLs, such as the redirect of a path with a trailing slash,
from the Host header: without this check a forged Host would come back to the client in a
``Location``. (Starlette's own TrustedHostMiddleware answers in plain text; this keeps the
``{"detail", "code"}`` shape.) The probes are answered whatever the Host: orchestrators
call them by the instance's address, and they build no URL.
"""

from collections.abc import Iterable

from starlette.types import Scope


def host_name(host_header: str) -> str:
    """The name in a Host header, without its port, lower-case (``[::1]`` kept whole)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if ":" in host else host


_VERDICTS_KEPT = 64


def _host_header(scope: Scope) -> str:
    for key, value in scope["headers"]:
        if key == b"host":
            return bytes(value).decode("latin-1")
    return ""


class AllowedHosts:
    def __init__(self, hosts: Iterable[str], *, exempt_paths: frozenset[str] = frozenset()) -> None:
        self.exempt_paths = exempt_paths
        # Host header -> allowed: clients send the same few on every request.
        self._verdicts: dict[str, bool] = {}
        allowed = [host.lower() for host in hosts]
        self.any_host = "*" in allowed
        self.names = frozenset(host for host in allowed if not host.startswith("*."))
        # "*.example.com" allows "api.example.com" (and "example.com" itself).
        self.domains = tuple(host[1:] for host in allowed if host.startswith("*."))

    def allows(self, name: str) -> bool:
        return (
            self.any_host
            or name in self.names
            or name.endswith(self.domains)
            or f".{name}" in self.domains
        )

    def refuses(self, scope: Scope) -> bool:
        if self.any_host or scope["path"] in self.exempt_paths:
            return False
        header = _host_header(scope)
        verdict = self._verdicts.get(header)
        if verdict is None:
            verdict = self.allows(host_name(header))
            if len(self._verdicts) < _VERDICTS_KEPT:  # forged hosts cannot grow it
                self._verdicts[header] = verdict
        return not verdict
