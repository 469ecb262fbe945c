"""Provider resolution, model labels, tracing and the no-network guarantee."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from agents.models.openai_chatcompletions import OpenAIChatCompletionsModel
from agents.models.openai_responses import OpenAIResponsesModel

from asdrp.models import (
    ModelProviderError,
    OfflineModel,
    model_label,
    resolve_model,
    resolve_provider,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ASDRP_MODEL_PROVIDER", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("provider", "key", "expected"), [
    (None, None, "offline"),
    (None, "sk-test", "openai"),
    ("auto", None, "offline"),
    ("auto", "sk-test", "openai"),
    ("AUTO", "", "offline"),
    ("offline", "sk-test", "offline"),
    ("openai", None, "openai"),
    (" Offline ", None, "offline"),
])
def test_provider_follows_the_environment(monkeypatch: pytest.MonkeyPatch, provider: str | None,
                                          key: str | None, expected: str) -> None:
    if provider is not None:
        monkeypatch.setenv("ASDRP_MODEL_PROVIDER", provider)
    if key is not None:
        monkeypatch.setenv("OPENAI_API_KEY", key)
    assert resolve_provider() == expected


def test_unknown_provider_names_the_variable_and_allowed_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASDRP_MODEL_PROVIDER", "anthropic")
    with pytest.raises(ValueError, match=r"ASDRP_MODEL_PROVIDER='anthropic'.*auto, openai, offline"):
        resolve_provider()


def test_offline_resolution_gives_the_offline_model() -> None:
    model = resolve_model("gpt-4.1-mini")
    assert isinstance(model, OfflineModel) and model_label(model) == "offline"


def test_openai_resolution_uses_responses_without_a_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    model = resolve_model("gpt-4.1-mini")
    assert isinstance(model, OpenAIResponsesModel) and model_label(model) == "gpt-4.1-mini"


def test_openai_compatible_server_uses_chat_completions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    model = resolve_model("llama3")
    assert isinstance(model, OpenAIChatCompletionsModel) and model_label(model) == "llama3"


def test_forcing_openai_without_a_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASDRP_MODEL_PROVIDER", "openai")
    with pytest.raises(ModelProviderError, match="OPENAI_API_KEY"):
        resolve_model("gpt-4.1-mini")


def test_labels_of_other_things() -> None:
    assert model_label("gpt-4o") == "gpt-4o"
    assert model_label(None) == "default"


@pytest.mark.parametrize("extra_env", [{}, {"OPENAI_API_KEY": "sk-dummy", "ASDRP_MODEL_PROVIDER": "offline"}],
                         ids=["no-key", "dummy-key-forced-offline"])
def test_importing_and_running_offline_opens_no_socket(tmp_path: Path, extra_env: dict[str, str]) -> None:
    script = textwrap.dedent("""
        import asyncio, socket, sys

        def refuse(*args, **kwargs):
            # Written as well as raised: exporters at exit swallow exceptions.
            sys.stderr.write(f"network access attempted: {args!r}\\n")
            raise AssertionError("network access attempted")

        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse

        import asdrp.models
        from agents import Agent, Runner, function_tool
        from agents.tracing import get_trace_provider

        @function_tool
        def current_time(place: str) -> dict:
            '''The current local time in a place.

            Args:
                place: the place name
            '''
            return {"summary": f"It is noon in {place}."}

        agent = Agent(name="t", instructions="You are a clock.", tools=[current_time],
                      model=asdrp.models.resolve_model("gpt-4.1-mini"))
        result = asyncio.run(Runner.run(agent, "What time is it in 'Kyoto'?"))
        assert get_trace_provider()._disabled, "tracing should be disabled offline"
        print("ANSWER:", result.final_output)
    """)
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_API_KEY", "ASDRP_MODEL_PROVIDER", "OPENAI_BASE_URL",
                        "OPENAI_AGENTS_DISABLE_TRACING")}
    env.update(extra_env, ASDRP_HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "ANSWER: It is noon in Kyoto." in done.stdout
    assert "network access attempted" not in done.stderr
