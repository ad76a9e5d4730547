"""A PostgreSQL server of a test's own, for tests that stop, restart or overload one.

Made with ``initdb`` in a temporary directory and served on a free port, as the
unprivileged ``postgres`` user when the tests run as root (PostgreSQL refuses to run as
root). The shared server on 5432 is never touched.
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy.engine import URL

from tests.databases import free_port

BIN = Path(os.environ.get("AGORA_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVER_USER = "postgres"


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--", *command]
    return command


class PostgresServer:
    """``start``, ``stop``, ``restart``; `url` for a database on it (created by `create`)."""

    def __init__(self, **settings: str) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="agora-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.directory),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            **settings,
        }
        if os.geteuid() == 0:
            shutil.chown(self.directory, SERVER_USER, SERVER_USER)
        self._run(BIN / "initdb", "--no-sync", "-A", "trust", "-U", "postgres", "-D", self.data)
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = '{value}'\n" for name, value in self.settings.items())

    def _run(self, program: Path, *arguments: object) -> None:
        command = _as_server_user([str(program), *map(str, arguments)])
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def _ctl(self, *arguments: str) -> None:
        log = self.directory / "server.log"
        self._run(BIN / "pg_ctl", "-D", self.data, "-l", log, "-w", "-t", "30", *arguments)

    def start(self) -> None:
        self._ctl("start")

    def running(self) -> bool:
        status = subprocess.run(
            _as_server_user([str(BIN / "pg_ctl"), "-D", str(self.data), "status"]),
            capture_output=True,
            check=False,
        )
        return status.returncode == 0

    def stop(self, mode: str = "fast") -> None:
        self._ctl("stop", "-m", mode)

    def restart(self, mode: str = "fast") -> None:
        self._ctl("restart", "-m", mode)

    def url(self, database: str = "postgres") -> URL:
        return URL.create(
            "postgresql+asyncpg",
            username="postgres",
            host="127.0.0.1",
            port=self.port,
            database=database,
        )

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)
