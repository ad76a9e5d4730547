"""Fixtures of the posts tests."""

import httpx
import pytest

from tests.posts.helpers import Blog


@pytest.fixture
def blog(client: httpx.AsyncClient) -> Blog:
    return Blog(client)
