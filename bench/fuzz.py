"""Deep, stateful fuzzing of the API with schemathesis, on PostgreSQL: once as an
ordinary user and once as an admin, every phase (examples, coverage, fuzzing, stateful
sequences that follow the schema's links), the same checks as the test suite's fast
profile (no server error, no undocumented status, content type or body).

    uv run python -m bench.fuzz [--max-examples 100] [--seed 1]

It starts `agora serve` on a scratch database and prints schemathesis' reports; the
exit code is non-zero when either run found a failure.
"""

import asyncio
import subprocess
import sys

import httpx
from pydantic import SecretStr

from agora.config import Settings
from agora.db.session import Database
from agora.users.passwords import PasswordHasher
from agora.users.schemas import UserCreate
from agora.users.service import UserService
from bench.harness import (
    Server,
    agora_contender,
    argument_parser,
    bench_secret,
    create_migrated_database,
    sqlalchemy_url,
)

DATABASE = "agora_fuzz"
SECRET = bench_secret("fuzz")
PASSWORD = "a long fuzzing password"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


async def create_accounts(dsn: str) -> None:
    settings = Settings(_env_file=None, database_url=sqlalchemy_url(dsn), argon2_time_cost=1)  # type: ignore[call-arg]
    hasher = PasswordHasher.from_settings(settings)
    async with Database.from_settings(settings) as database:
        for name, admin in (("fuzzer", False), ("fuzzadmin", True)):
            data = UserCreate(
                email=f"{name}@example.com", username=name, password=SecretStr(PASSWORD)
            )
            await database.run_in_transaction(
                lambda session, data=data, admin=admin: UserService(session).register(
                    data, hasher, is_superuser=admin
                )
            )


def token(base_url: str, login: str) -> str:
    answer = httpx.post(
        f"{base_url}/api/v1/auth/token", data={"username": login, "password": PASSWORD}
    )
    answer.raise_for_status()
    access_token: str = answer.json()["access_token"]
    return access_token


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    dsn = asyncio.run(create_migrated_database(DATABASE))
    asyncio.run(create_accounts(dsn))
    server = agora_contender(dsn, SECRET, AGORA_RATE_LIMITS_ENABLED="false")
    failed = False
    with Server(server, args.port) as running:
        running.wait_ready("/readyz", {})
        base_url = f"http://127.0.0.1:{args.port}"
        for login in ("fuzzer", "fuzzadmin"):
            print(f"\n=== as {login} ===", flush=True)
            command = [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{base_url}/openapi.json",
                "--header",
                f"Authorization: Bearer {token(base_url, login)}",
                "--checks",
                CHECKS,
                "--max-examples",
                str(args.max_examples),
                "--seed",
                str(args.seed),
            ]
            failed |= subprocess.run(command, check=False).returncode != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
