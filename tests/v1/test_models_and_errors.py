"""`/v1/models`, Bearer keys and OpenAI's error bodies, through the official `openai` client."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai import OpenAI

from tests.server.conftest import ServerProcess
from tests.v1.conftest import ALICE_KEY, async_openai_client, openai_client


def test_models_list_every_agent_and_orchestrator(alice: OpenAI) -> None:
    ids = [model.id for model in alice.models.list()]
    assert {"moe", "smartrouter", "geo", "chitchat"} <= set(ids)
    assert alice.models.retrieve("moe").id == "moe"


async def test_async_client_lists_models(v1_server: ServerProcess) -> None:
    async with async_openai_client(v1_server, ALICE_KEY) as client:
        page = await client.models.list()
        assert "smartrouter" in [model.id for model in page.data]


def test_unknown_bearer_key_is_an_authentication_error(v1_server: ServerProcess) -> None:
    with openai_client(v1_server, "not-a-key") as client, pytest.raises(openai.AuthenticationError) as caught:
        client.models.list()
    assert caught.value.body["code"] == "invalid_api_key"  # type: ignore[index]


def test_a_body_request_with_an_unknown_key_is_refused_in_openai_shape(v1_server: ServerProcess) -> None:
    with openai_client(v1_server, "not-a-key") as client, pytest.raises(openai.AuthenticationError):
        client.responses.create(model="moe", input="hello")


def test_x_api_key_and_bearer_name_the_same_user(v1_server: ServerProcess, alice: OpenAI) -> None:
    conversation = alice.conversations.create(metadata={"via": "bearer"})
    response = httpx.get(f"{v1_server.url}/v1/conversations/{conversation.id}", headers={"X-API-Key": ALICE_KEY})
    assert response.status_code == 200 and response.json()["metadata"] == {"via": "bearer"}


def test_unknown_model_and_unknown_ids_are_not_found(alice: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        alice.models.retrieve("no-such-agent")
    with pytest.raises(openai.NotFoundError):
        alice.responses.create(model="no-such-agent", input="hi")
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve("resp_missing")
    with pytest.raises(openai.NotFoundError):
        alice.conversations.retrieve("conv_missing")


def test_bad_requests_are_bad_request_errors_with_openai_body(alice: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        alice.responses.create(model="moe", input="   ")
    assert caught.value.body["code"] == "empty_input"  # type: ignore[index]
    assert caught.value.status_code == 400
    with pytest.raises(openai.BadRequestError):
        alice.responses.create(model="moe", input=[{"role": "assistant", "content": "no question here"}])
    with pytest.raises(openai.BadRequestError):
        alice.chat.completions.create(model="moe", messages=[{"role": "assistant", "content": "hi"}])
    with pytest.raises(openai.BadRequestError):
        alice.conversations.create(metadata={"k": "v" * 600})


def test_error_body_shape_on_an_unknown_v1_path(v1_server: ServerProcess) -> None:
    response = httpx.get(f"{v1_server.url}/v1/nothing-here", headers={"Authorization": f"Bearer {ALICE_KEY}"})
    assert response.status_code == 404
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_our_own_api_keeps_its_error_shape(v1_server: ServerProcess) -> None:
    response = httpx.get(f"{v1_server.url}/sessions/bad..id", headers={"Authorization": f"Bearer {ALICE_KEY}"})
    assert response.status_code in (404, 422)
    assert "error_code" in response.json()
