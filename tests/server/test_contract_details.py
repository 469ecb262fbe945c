"""The smaller promises of the HTTP contract: /metrics follows the auth mode, the active-sessions gauge,
forged cursors, bounded error echoes, the OpenAPI schema states the validation rules, OPTIONS/Allow."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import httpx
import pytest

from asdrp.server.metrics import ACTIVE_SESSION_WINDOW_S, ServerMetrics
from tests.server.conftest import ALICE_KEY, app_client, settings_for


async def test_metrics_need_a_key_when_keys_are_configured(home: Path) -> None:
    async with app_client(settings_for(api_keys=f"{ALICE_KEY}:alice")) as client:
        refused = await client.get("/metrics")
        assert refused.status_code == 401 and refused.json()["error_code"] == "missing_api_key"
        assert (await client.get("/metrics", headers={"X-API-Key": "nope"})).status_code == 401
        assert (await client.get("/metrics", headers={"X-API-Key": ALICE_KEY})).status_code == 200
    async with app_client(settings_for(api_keys=f"{ALICE_KEY}:alice", public_metrics=True)) as client:
        assert (await client.get("/metrics")).status_code == 200
    async with app_client() as client:  # local mode: no keys at all
        assert (await client.get("/metrics")).status_code == 200


def test_the_active_sessions_gauge_counts_recent_conversations_and_forgets_old_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr("asdrp.server.metrics.time.monotonic", lambda: now[0])
    metrics = ServerMetrics()
    for session_id in ("a", "b", "a", "c"):
        metrics.session_seen("alice", session_id)
        now[0] += 1
    assert metrics._count_active_sessions() == 3
    now[0] += ACTIVE_SESSION_WINDOW_S - 2.5  # "a" (seen last at 1002) and "c" (1003) still count, "b" not
    metrics.session_seen("bob", "d")
    assert list(metrics._last_seen) == [("alice", "a"), ("alice", "c"), ("bob", "d")]
    now[0] += ACTIVE_SESSION_WINDOW_S + 1
    assert metrics._count_active_sessions() == 0 and not metrics._last_seen


async def test_a_forged_cursor_is_422_and_leaves_no_unretrieved_task(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Every store refuses its part of the forged cursor; each refusal is collected, none is left
    to be logged as "Task exception was never retrieved" (tests/conftest.py fails on those too)."""
    stores = len(client.app.state.services.directory().stores)  # type: ignore[attr-defined]
    forged = json.dumps([["not-a-store-cursor", False]] * stores, separators=(",", ":"))
    cursor = base64.urlsafe_b64encode(forged.encode()).decode().rstrip("=")
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        for _ in range(3):
            response = await client.get("/sessions", params={"cursor": cursor})
            assert response.status_code == 422 and response.json()["error_code"] == "invalid_cursor"
        import gc

        gc.collect()
    assert "never retrieved" not in caplog.text


async def test_errors_echo_only_a_bounded_excerpt_of_client_input(client: httpx.AsyncClient) -> None:
    long_id = "a" * 10_000
    unknown = await client.post(f"/agents/{long_id}/chat", json={"input": "hi"})
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "unknown_agent"
    assert len(unknown.content) < 1000 and long_id not in unknown.text
    missing = await client.get("/" + "b" * 10_000)
    assert missing.status_code == 404 and len(missing.content) < 600
    bad_session = await client.get("/sessions/" + "c" * 10_000)
    assert bad_session.status_code == 422 and len(bad_session.content) < 600


async def test_the_openapi_schema_states_the_session_id_and_input_rules(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    chat = spec["components"]["schemas"]["ChatRequest"]["properties"]
    assert chat["input"]["minLength"] == 1 and chat["input"]["pattern"] == r"\S"
    assert chat["session_id"]["maxLength"] == 128 and "A-Za-z0-9_.:-" in chat["session_id"]["pattern"]
    for method in ("get", "delete"):
        params = spec["paths"]["/sessions/{session_id}"][method]["parameters"]
        session_id = next(p for p in params if p["name"] == "session_id")
        assert "A-Za-z0-9_.:-" in session_id["schema"]["pattern"], session_id
    headers = [p for p in spec["paths"]["/agents/{agent_id}/chat"]["post"]["parameters"] if p["in"] == "header"]
    assert any(p["name"] == "Idempotency-Key" for p in headers)


def methods(response: httpx.Response) -> set[str]:
    return {method.strip() for method in response.headers["allow"].split(",")}


async def test_options_and_405_name_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    options = await client.options("/sessions/s1")
    assert options.status_code == 204
    assert {"GET", "DELETE", "OPTIONS"} <= methods(options)
    wrong = await client.put("/sessions/s1")
    assert wrong.status_code == 405 and wrong.json()["error_code"] == "method_not_allowed"
    assert methods(wrong) == methods(options)
    listed = await client.options("/sessions")
    assert {"GET", "DELETE"} <= methods(listed)


async def test_the_openapi_schema_declares_the_auth_the_server_applies(home: Path) -> None:
    async with app_client(settings_for(api_keys=f"{ALICE_KEY}:alice")) as client:
        spec = (await client.get("/openapi.json")).json()
        assert set(spec["components"]["securitySchemes"]) == {"APIKeyHeader", "HTTPBearer"}
        assert "security" in spec["paths"]["/sessions"]["get"]
        assert (await client.get("/sessions")).status_code == 401  # as declared
    async with app_client() as client:  # local mode: no key is asked for, and none is declared
        spec = (await client.get("/openapi.json")).json()
        assert "securitySchemes" not in spec.get("components", {})
        declared = [f"{method} {path}" for path, item in spec["paths"].items() for method, op in item.items()
                    if isinstance(op, dict) and "security" in op]
        assert declared == []
        assert (await client.get("/sessions")).status_code == 200
