"""A Python client generated from the schema with openapi-python-client works: no
warnings while generating, and a user registers, signs in and transfers money with it.

The generator runs as a tool of its own (``uv tool run``: its pinned dependencies clash
with the service's), and so does the client, in an environment with only what the
generated package needs, against `agora serve`."""

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from agora.db import migrations
from agora.db.engine import run_on_connection
from agora.db.session import Database
from agora.main import create_app
from agora.users.passwords import PasswordHasher
from agora.users.schemas import UserCreate
from agora.users.service import UserService
from tests.agora_server import serving
from tests.databases import make_settings
from tests.factories import PASSWORD

pytestmark = [pytest.mark.server]

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = "openapi-python-client==0.29.1"
# What the generated package imports, for the environment the client runs in.
CLIENT_REQUIREMENTS = ["httpx", "attrs", "python-dateutil"]
# The generator has no model for streamed bodies: it hands them over as bytes.
GENERATOR_CONFIG = {
    "content_type_overrides": {
        "application/x-ndjson": "application/octet-stream",
        "text/csv": "application/octet-stream",
    }
}

CLIENT_SCRIPT = """
import sys
from agora_client import AuthenticatedClient, Client
from agora_client.api.auth import auth_issue_token
from agora_client.api.users import users_register
from agora_client.api.wallet import wallet_deposit, wallet_read_balance, wallet_transfer
from agora_client.models import (
    BodyAuthIssueToken, DepositRequest, LedgerEntryRead, TokenResponse, TransferRequest,
    UserCreate, UserPrivate,
)

base_url, password = sys.argv[1], sys.argv[2]
anonymous = Client(base_url=base_url)

def sign_in(login):
    token = auth_issue_token.sync(
        client=anonymous, body=BodyAuthIssueToken(username=login, password=password)
    )
    assert isinstance(token, TokenResponse), token
    return AuthenticatedClient(base_url=base_url, token=token.access_token)

ada = users_register.sync(
    client=anonymous,
    body=UserCreate(email="ada@example.com", username="ada", password=password),
)
bob = users_register.sync(
    client=anonymous,
    body=UserCreate(email="bob@example.com", username="bob", password=password),
)
assert isinstance(ada, UserPrivate) and isinstance(bob, UserPrivate), (ada, bob)
admin, as_ada = sign_in("root"), sign_in("ada")
deposit = wallet_deposit.sync(
    client=admin, body=DepositRequest(user_id=ada.id, amount_cents=1_000), idempotency_key="d1"
)
assert isinstance(deposit, LedgerEntryRead), deposit
sent = wallet_transfer.sync(
    client=as_ada, body=TransferRequest(to_user_id=bob.id, amount_cents=250), idempotency_key="t1"
)
assert isinstance(sent, LedgerEntryRead), sent
print(wallet_read_balance.sync(client=as_ada).balance_cents)
"""


def uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(found).exists():
        pytest.fail("uv is needed to run the generator (make installs it into .tools/)")
    return found


def test_a_generated_client_registers_signs_in_and_transfers(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'agora.db'}")
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(create_app(settings).openapi()))
    config = tmp_path / "generator.json"
    config.write_text(json.dumps(GENERATOR_CONFIG))
    generated = subprocess.run(
        [
            uv(),
            "tool",
            "run",
            "--from",
            GENERATOR,
            "openapi-python-client",
            "generate",
            "--path",
            str(schema),
            "--output-path",
            str(tmp_path / "client"),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    assert "warning" not in output.lower(), output

    async def run_client() -> str:
        await run_on_connection(settings.database_url, settings, migrations.upgrade)
        async with Database.from_settings(settings) as database:
            root = UserCreate(
                email="root@example.com", username="root", password=SecretStr(PASSWORD)
            )
            hasher = PasswordHasher.from_settings(settings)
            await database.run_in_transaction(
                lambda session: UserService(session).register(root, hasher, is_superuser=True)
            )
        async with serving(settings, AGORA_RATE_LIMITS_ENABLED="false") as base_url:
            command = [uv(), "run", "--no-project", "--python", sys.executable]
            for requirement in CLIENT_REQUIREMENTS:
                command += ["--with", requirement]
            ran = await asyncio.to_thread(
                subprocess.run,
                [*command, "python", "-c", CLIENT_SCRIPT, base_url, PASSWORD],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
                env={**os.environ, "PYTHONPATH": str(tmp_path / "client")},
            )
        assert ran.returncode == 0, ran.stdout + ran.stderr
        return ran.stdout.strip()

    assert asyncio.run(run_client()) == "750"
