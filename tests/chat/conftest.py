"""Fixtures of the chat tests."""

import httpx
import pytest

from tests.chat.helpers import Chat


@pytest.fixture
def chat(client: httpx.AsyncClient) -> Chat:
    return Chat(client)
