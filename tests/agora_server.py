"""`agora serve`, started as the README starts it, for tests that need a real server."""

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from agora.config import Settings
from tests.databases import free_port


@asynccontextmanager
async def serving(
    settings: Settings, *, workers: int = 1, log_file: Path | None = None, **environment: str
) -> AsyncIterator[str]:
    """The base URL of `agora serve --workers N` on `settings`' database with cheap
    hashing and `environment` (``AGORA_*`` values) on top, ready; stopped at the end,
    which must be clean (no traceback). With `log_file`, the server logs every request
    there (its standard output), else no access lines."""
    port = free_port()
    access_log = "--access-log" if log_file is not None else "--no-access-log"
    log_to = log_file.open("wb") if log_file is not None else None
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agora",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        access_log,
        env={
            **os.environ,
            "AGORA_DATABASE_URL": settings.database_url,
            "AGORA_JWT_SECRET": settings.signing_secret(),
            "AGORA_ARGON2_TIME_COST": "1",
            "AGORA_ARGON2_MEMORY_COST_KIB": "8",
            "AGORA_ARGON2_PARALLELISM": "1",
            **environment,
        },
        stdout=log_to if log_to is not None else asyncio.subprocess.PIPE,
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
        out, stderr = await process.communicate()
        if log_to is not None:
            log_to.close()
            out = _read(log_to.name)
        log = (out + stderr).decode()
        # uvicorn re-raises SIGTERM after a clean shutdown, so the exit code is -15.
        assert "Application shutdown complete" in log, log
        assert "Traceback" not in log, log


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()
