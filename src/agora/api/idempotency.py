"""The ``Idempotency-Key`` header of writes that move money or stock.

A request with a key runs at most once per user and key: a retry with the same key and
the same request gets the first response again (with ``Idempotent-Replayed: true``); a
retry while the first is still running gets 409 ``idempotency_in_progress``; the same key
with a different request is 422 ``idempotency_key_reused``. How the unit of work keeps
that promise, and where its transactions begin and end: `agora.db.idempotency`.
"""

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel

from agora.api.dependencies import SessionDep
from agora.api.errors import domain_error_response
from agora.api.routing import documents_errors
from agora.api.schemas import json_response
from agora.db.idempotency import KEY_MAX_LENGTH, IdempotencyKey, Outcome, run_once
from agora.kernel.errors import DomainError
from agora.kernel.principal import Principal

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# The claim token of a request lives in its ASGI scope: the same across the re-runs of
# its unit of work after a deadlock, so a re-run keeps its own claim.
_TOKEN_SCOPE_KEY = "agora.idempotency_token"  # noqa: S105  (a dictionary key)


async def _fingerprint(request: Request, body: BaseModel | None) -> str:
    """Method, path and body. The body as the endpoint validated it, when it takes one (two
    layouts of the same JSON are the same request); otherwise its raw bytes, never parsed
    here: a body the endpoint ignores cannot make this step fail."""
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode())
    digest.update(body.model_dump_json().encode() if body is not None else await request.body())
    return digest.hexdigest()


def _outcome(response: Response) -> Outcome:
    return Outcome(response.status_code, bytes(response.body).decode())


def _refused(refusal: DomainError) -> Outcome:
    return _outcome(domain_error_response(refusal))


class Idempotency:
    def __init__(self, request: Request, session: SessionDep, key: str | None) -> None:
        self.request = request
        self.session = session
        self.key = key

    async def run(
        self,
        user: Principal,
        operation: Callable[[], Awaitable[Response]],
        *,
        body: BaseModel | None = None,
    ) -> Response:
        """`operation`'s response, or the one a previous request with the key got; `body`
        is the request body as the endpoint validated it (None when it takes none)."""
        if self.key is None:
            return await operation()
        key = IdempotencyKey(
            user_id=user.id,
            key=self.key,
            fingerprint=await _fingerprint(self.request, body),
            token=self.request.scope.setdefault(_TOKEN_SCOPE_KEY, uuid.uuid4().hex),
        )

        async def respond() -> Outcome:
            return _outcome(await operation())

        outcome = await run_once(self.session, key, respond, _refused)
        headers = {REPLAYED_HEADER: "true"} if outcome.replayed else None
        return Response(outcome.body, outcome.status, headers, media_type="application/json")

    async def answer(
        self,
        user: Principal,
        operation: Callable[[], Awaitable[BaseModel]],
        status_code: int = 200,
        *,
        body: BaseModel | None = None,
    ) -> Response:
        """`run` for an operation that answers with a read model."""

        async def respond() -> Response:
            return json_response(await operation(), status_code)

        return await self.run(user, respond, body=body)


@documents_errors(
    {
        409: "idempotency_in_progress: a request with this key is still running",
        422: "idempotency_key_reused: this key was used for another request",
    }
)
async def get_idempotency(
    request: Request,
    session: SessionDep,
    key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            min_length=1,
            max_length=KEY_MAX_LENGTH,
            pattern=r"^[\x21-\x7e]+$",
            description="Makes retries of this write safe: see the API conventions.",
        ),
    ] = None,
) -> Idempotency:
    return Idempotency(request, session, key)


IdempotencyDep = Annotated[Idempotency, Depends(get_idempotency)]
