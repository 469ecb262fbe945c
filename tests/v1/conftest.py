"""Fixtures for the `/v1` tests: one real `asdrp serve` process per module, and OpenAI clients on it.

A server takes a couple of seconds to start, so a module shares one (its own ASDRP_HOME); tests
keep apart by creating their own conversations. Alice and Bob have keys, so ownership is real.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import AsyncOpenAI, OpenAI

from tests.server.conftest import ServerProcess, home  # noqa: F401 - `home` is a fixture the in-process tests use

ALICE_KEY, BOB_KEY = "alice-v1-key", "bob-v1-key"
KEYS_ENV = {"ASDRP_API_KEYS": f"{ALICE_KEY}:alice,{BOB_KEY}:bob", "ASDRP_V1_TRUSTED_USER_HEADER": "X-Forwarded-User"}


@pytest.fixture(scope="module")
def v1_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("v1home")


@pytest.fixture(scope="module")
def v1_server(v1_home: Path) -> Iterator[ServerProcess]:
    """One keyed server for the module (alice and bob)."""
    server = ServerProcess(v1_home, env=KEYS_ENV).start()
    yield server
    server.terminate()


def openai_client(server: ServerProcess, key: str) -> OpenAI:
    return OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0, timeout=60)


def async_openai_client(server: ServerProcess, key: str) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def alice(v1_server: ServerProcess) -> Iterator[OpenAI]:
    with openai_client(v1_server, ALICE_KEY) as client:
        yield client


@pytest.fixture(scope="module")
def bob(v1_server: ServerProcess) -> Iterator[OpenAI]:
    with openai_client(v1_server, BOB_KEY) as client:
        yield client
