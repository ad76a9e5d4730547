"""The ``Idempotency-Key`` header of writes that move money or stock.

A request with a key runs at most once per user and key: a retry with the same key and
the same request gets the first response again (with ``Idempotent-Replayed: true``); a
retry while the first is still running gets 409 ``idempotency_in_progress``; the same key
with a different request is 422 ``idempotency_key_reused``.

How: the key is first claimed in a short transaction of its own, committed at once so
that concurrent retries see it. The operation then runs, and its response is stored in
the operation's own transaction: both are kept, or neither. A refusal by the business
rules (409 ``insufficient_funds``, ...) is stored too: the same request gets the same
answer. Anything else (a crash, a 503) releases the claim, so a retry runs the operation;
and since a completed record is never released, a retry after a connection lost during
COMMIT replays the response if the COMMIT happened, and runs again if it did not. A
claim whose request died without finishing is taken over after STALE_CLAIM_SECONDS.
Keys are kept until purged (``agora idempotency purge``).
"""

import contextlib
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel

from agora.api.dependencies import session_of
from agora.api.errors import domain_error_response
from agora.api.schemas import json_response
from agora.auth.principal import Principal
from agora.db.types import utc_now
from agora.errors import Conflict, DomainError, InvalidInput
from agora.idempotency.models import KEY_MAX_LENGTH
from agora.idempotency.repository import IdempotencyRepository

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
STALE_CLAIM_SECONDS = 60
# The claim token of a request lives in its ASGI scope: the same across the re-runs of
# its unit of work after a deadlock, so a re-run keeps its own claim.
_TOKEN_SCOPE_KEY = "agora.idempotency_token"  # noqa: S105  (a dictionary key)


class IdempotencyInProgress(Conflict):
    default_code = "idempotency_in_progress"
    default_detail = "A request with this Idempotency-Key is still running; retry shortly."


class IdempotencyKeyReused(InvalidInput):
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was used for a different request."


async def _fingerprint(request: Request) -> str:
    """Method, path and body; JSON bodies compare by content, not by layout."""
    body = await request.body()
    with contextlib.suppress(ValueError):  # not JSON: compared byte for byte
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


class Idempotency:
    def __init__(self, request: Request, key: str | None) -> None:
        self.request = request
        self.key = key

    async def run(self, user: Principal, operation: Callable[[], Awaitable[Response]]) -> Response:
        """`operation`'s response, or the one a previous request with the key got."""
        if self.key is None:
            return await operation()
        session = session_of(self.request)
        records = IdempotencyRepository(session)
        token = self.request.scope.setdefault(_TOKEN_SCOPE_KEY, uuid.uuid4().hex)
        fingerprint = await _fingerprint(self.request)
        stale_before = utc_now() - timedelta(seconds=STALE_CLAIM_SECONDS)
        record = await records.claim(
            user.id, self.key, fingerprint, token, stale_before=stale_before
        )
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused
        if record.completed_at is not None:
            assert record.response_status is not None
            assert record.response_body is not None
            return Response(
                record.response_body,
                record.response_status,
                headers={REPLAYED_HEADER: "true"},
                media_type="application/json",
            )
        if record.claim_token != token:
            raise IdempotencyInProgress
        await session.commit()  # from here on, concurrent retries see the claim
        try:
            response = await operation()
        except DomainError as refusal:
            await session.rollback()  # nothing of the operation is kept...
            response = domain_error_response(refusal)  # ...but its answer is
        except BaseException:
            await session.rollback()
            await records.release(user.id, self.key, token)
            await session.commit()
            raise
        if not await records.complete(
            user.id, self.key, token, response.status_code, bytes(response.body).decode()
        ):
            raise IdempotencyInProgress  # our claim went stale and was taken over
        return response

    async def answer(
        self,
        user: Principal,
        view: type[BaseModel],
        operation: Callable[[], Awaitable[object]],
        status_code: int = 200,
    ) -> Response:
        """`run` for an operation whose result is answered as `view` (validated from it)."""

        async def respond() -> Response:
            return json_response(view.model_validate(await operation()), status_code)

        return await self.run(user, respond)


async def get_idempotency(
    request: Request,
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
    return Idempotency(request, key)


IdempotencyDep = Annotated[Idempotency, Depends(get_idempotency)]
