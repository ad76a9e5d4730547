"""Password hashing with argon2id (pwdlib): off the event loop, a few at a time.

One verification takes ~100 ms of CPU with the default parameters; run on the loop, a
handful of concurrent logins would stall every other request for that long. In threads
but unbounded, a flood of logins would take every core from the requests that don't
hash. So hashes run in threads of their own at a lower CPU priority, at most
`concurrency` at once (about the number of cores); the others wait in line, and one that
would wait longer than `wait_seconds` is refused with 503 `service_busy` rather than
queue behind a flood.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from agora.kernel.errors import ServiceBusy

if TYPE_CHECKING:
    from collections.abc import Callable

    from agora.config import Settings

T = TypeVar("T")

# The hashing threads' nice value (Linux, where it is per thread and inherited by the
# threads argon2 starts for its lanes): when the cores are busy, serving requests comes
# first, and logins take longer (or are `service_busy`) instead of other users' requests.
HASHING_NICENESS = 19


def _lower_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):  # no per-thread priority here
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


class PasswordHasher:
    def __init__(
        self,
        *,
        time_cost: int,
        memory_cost_kib: int,
        parallelism: int,
        concurrency: int = 1,
        wait_seconds: float = 1.0,
    ) -> None:
        hasher = Argon2Hasher(
            time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=parallelism
        )
        self._hash = PasswordHash((hasher,))
        self._decoy_hash: str | None = None
        self._slots = asyncio.Semaphore(concurrency)
        self._wait_seconds = wait_seconds
        self._threads = ThreadPoolExecutor(
            concurrency, thread_name_prefix="password-hashing", initializer=_lower_priority
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordHasher:
        return cls(
            time_cost=settings.argon2_time_cost,
            memory_cost_kib=settings.argon2_memory_cost_kib,
            parallelism=settings.argon2_parallelism,
            concurrency=settings.password_hashing_concurrency,
            wait_seconds=settings.password_hashing_wait_seconds,
        )

    async def hash(self, password: str) -> str:
        return await self._in_a_slot(self._hash.hash, password)

    async def verify(self, password: str, hashed: str) -> tuple[bool, str | None]:
        """Whether `password` matches, and a new hash when the stored one is outdated."""
        return await self._in_a_slot(self._hash.verify_and_update, password, hashed)

    async def verify_decoy(self, password: str) -> None:
        """Spend the time of a real verification, for logins of accounts that don't exist.

        Without it, "no such user" answers ~100 ms faster than "wrong password", and the
        difference tells an attacker which usernames and emails are registered.
        """
        if self._decoy_hash is None:
            self._decoy_hash = await self.hash(secrets.token_urlsafe(16))
        await self.verify(password, self._decoy_hash)

    async def _in_a_slot(self, work: Callable[..., T], *args: str) -> T:
        try:
            async with asyncio.timeout(self._wait_seconds):
                await self._slots.acquire()
        except TimeoutError:
            raise ServiceBusy("Too many password checks at once; retry shortly.") from None
        # The slot is freed when the thread finishes, not when the caller stops waiting:
        # a cancelled request must not let more hashes run than there are slots.
        future = asyncio.get_running_loop().run_in_executor(self._threads, work, *args)
        future.add_done_callback(lambda _: self._slots.release())
        return await asyncio.shield(future)
