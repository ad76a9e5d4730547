"""No guessable passwords: zxcvbn's estimate, with its own frequency lists (passwords,
names, words, keyboard patterns) and the account's username and email as words an
attacker would try first.

A password that zxcvbn scores 0 or 1, under 10^6 guesses, is refused with 422
`weak_password` and zxcvbn's hint. The estimate is pure Python and takes up to ~40 ms
for a 128-character password, so it runs in a worker thread, not on the event loop.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from zxcvbn import zxcvbn

from agora.users.errors import WeakPassword

if TYPE_CHECKING:
    from collections.abc import Sequence

# zxcvbn's scores 0 and 1 are estimates under 10^6 guesses.
WEAKEST_ACCEPTED_SCORE = 2
# The longest password the schemas accept (zxcvbn refuses longer input by default).
MAX_ESTIMATED_LENGTH = 128


def refuse_if_guessable(password: str, user_inputs: Sequence[str]) -> None:
    """Raise `WeakPassword` (with zxcvbn's hint) for a password under 10^6 guesses."""
    estimate = zxcvbn(password, user_inputs=list(user_inputs), max_length=MAX_ESTIMATED_LENGTH)
    if estimate["score"] >= WEAKEST_ACCEPTED_SCORE:
        return
    feedback = estimate["feedback"]
    hint = " ".join(part for part in (feedback["warning"], *feedback["suggestions"]) if part)
    raise WeakPassword(f"This password is too easy to guess. {hint}".strip())


async def ensure_not_guessable(password: str, user_inputs: Sequence[str]) -> None:
    """`refuse_if_guessable`, off the event loop."""
    await asyncio.to_thread(refuse_if_guessable, password, user_inputs)
