"""Who is calling: what authorization decisions need, loaded on every request."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated, active, not deleted user, as of this request.

    Deliberately small: it is loaded on every authenticated request with a Core query of
    three columns (no ORM object, no identity map). Endpoints that need the account
    itself load it through the users repository. `session_id` is the sign-in the
    request's token belongs to (None for a principal made otherwise, e.g. in a test).
    """

    id: int
    username: str
    is_superuser: bool
    session_id: int | None = None
