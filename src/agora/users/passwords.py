"""Password hashing with argon2id (pwdlib), always off the event loop.

One verification takes ~100 ms of CPU with the default parameters; run on the loop, a
handful of concurrent logins would stall every other request for that long.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

if TYPE_CHECKING:
    from agora.config import Settings


class PasswordHasher:
    def __init__(self, *, time_cost: int, memory_cost_kib: int, parallelism: int) -> None:
        hasher = Argon2Hasher(
            time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=parallelism
        )
        self._hash = PasswordHash((hasher,))
        self._decoy_hash: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordHasher:
        return cls(
            time_cost=settings.argon2_time_cost,
            memory_cost_kib=settings.argon2_memory_cost_kib,
            parallelism=settings.argon2_parallelism,
        )

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hash.hash, password)

    async def verify(self, password: str, hashed: str) -> tuple[bool, str | None]:
        """Whether `password` matches, and a new hash when the stored one is outdated."""
        return await asyncio.to_thread(self._hash.verify_and_update, password, hashed)

    async def verify_decoy(self, password: str) -> None:
        """Spend the time of a real verification, for logins of accounts that don't exist.

        Without it, "no such user" answers ~100 ms faster than "wrong password", and the
        difference tells an attacker which usernames and emails are registered.
        """
        if self._decoy_hash is None:
            self._decoy_hash = await self.hash(secrets.token_urlsafe(16))
        await self.verify(password, self._decoy_hash)
