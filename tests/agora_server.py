"""`agora serve`, started as the README starts it, for tests that need a real server."""

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from agora.config import Settings
from tests.databases import free_port


@asynccontextmanager
async def serving(
    settings: Settings, *, workers: int = 1, **environment: str
) -> AsyncIterator[str]:
    """The base URL of `agora serve --workers N` on `settings`' database with cheap
    hashing and `environment` (``AGORA_*`` values) on top, ready; stopped at the end,
    which must be clean (no traceback)."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agora",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        env={
            **os.environ,
            "AGORA_DATABASE_URL": settings.database_url,
            "AGORA_JWT_SECRET": settings.signing_secret(),
            "AGORA_ARGON2_TIME_COST": "1",
            "AGORA_ARGON2_MEMORY_COST_KIB": "8",
            "AGORA_ARGON2_PARALLELISM": "1",
            **environment,
        },
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url) as probe:
            for _ in range(300):
                try:
                    if (await probe.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the server did not become ready")
        yield base_url
    finally:
        process.terminate()
        _, stderr = await process.communicate()
        log = stderr.decode()
        # uvicorn re-raises SIGTERM after a clean shutdown, so the exit code is -15.
        assert "Application shutdown complete" in log, log
        assert "Traceback" not in log, log
