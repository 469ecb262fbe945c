"""The OpenAPI schema, fuzzed in-process with schemathesis: no request may produce a 5xx, every rule the
server applies is in the schema, and the schema's links lead through a real conversation."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.checks import not_a_server_error

from asdrp.server import create_app
from asdrp.server.idempotency import REPLAYED_HEADER
from tests.server.conftest import AGENTS_YAML

MAX_EXAMPLES = 25
"""Examples per operation: enough to hit every validator, small enough to stay well under a minute."""


@pytest.fixture
def fuzz_app(home: Path):
    from asdrp.server import ServerSettings

    return create_app(ServerSettings(config=AGENTS_YAML, api_keys="fuzz-key:fuzzer"))


def test_no_generated_request_yields_a_server_error(fuzz_app) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    failures: list[str] = []
    statuses: list[int] = []
    operations = 0
    for operation in schema.get_all_operations():
        op = operation.ok()
        operations += 1

        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def run(case) -> None:
            case.headers = {**(case.headers or {}), "X-API-Key": "fuzz-key"}
            response = case.call()
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")
            case.validate_response(response, checks=[not_a_server_error])

        run()
    assert failures == []
    assert operations >= 8 and len(statuses) > operations, "every operation was exercised"
    assert any(200 <= status < 300 for status in statuses) and any(400 <= status < 500 for status in statuses)


def test_requests_the_schema_forbids_are_rejected_with_a_4xx(fuzz_app) -> None:
    """Negative data: every value the schema rules out (session-id pattern, blank input, page sizes,
    headers) is refused by the server with a 4xx, so the schema states every rule the server applies."""
    from schemathesis import GenerationMode
    from schemathesis.checks import negative_data_rejection

    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    failures: list[str] = []
    checked = 0
    for operation in schema.get_all_operations():
        op = operation.ok()

        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy(generation_mode=GenerationMode.NEGATIVE))
        def run(case) -> None:
            case.headers = {**(case.headers or {}), "X-API-Key": "fuzz-key"}
            response = case.call()
            try:
                case.validate_response(response, checks=[not_a_server_error, negative_data_rejection])
            except Exception as exc:  # collect them all: one report names every rule the schema misses
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {str(exc)[:300]}")

        try:
            run()
        except Unsatisfiable:  # an operation without parameters or body has no invalid request to make
            continue
        checked += 1
    assert failures == [], "\n".join(failures[:10])
    assert checked >= 6


AUTH = {"X-API-Key": "fuzz-key"}
SCENARIOS = 80
"""Stateful scenarios of up to 8 calls each: enough to reach a deleted conversation's read most runs (it takes
agents -> turn -> delete -> read), small enough to stay well under a minute."""


STATEFUL_REJECTIONS = {"invalid_cursor", "idempotency_key_reused"}
"""422s that depend on what the server gave out or saw before, which no schema can state: a cursor is valid only
as a `next_cursor` the server returned, and an Idempotency-Key only with the request it first came with."""


def positive_data_acceptance_but_stateful_rejections(ctx: Any, response: Any, case: Any) -> bool | None:
    """`positive_data_acceptance`, except for the `STATEFUL_REJECTIONS` a well-formed request can rightly get."""
    if response.status_code == 422 and _error_code(response) in STATEFUL_REJECTIONS:
        return None
    return checks.positive_data_acceptance(ctx, response, case)


def _error_code(response: Any) -> str | None:
    try:
        return json.loads(response.content).get("error_code")
    except (ValueError, AttributeError):
        return None


STATEFUL_CHECKS = [
    not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
    positive_data_acceptance_but_stateful_rejections,
    checks.ignored_auth,
    checks.use_after_free,
]
"""Conformance, the negative-data rules, auth, and one that needs links: a deleted conversation is gone
(`use_after_free`). `ensure_resource_availability` only knows resources created under their own URL, so the
state machine below checks "a conversation a turn stored can be read" itself."""


def test_the_schemas_links_lead_through_a_conversation(fuzz_app) -> None:
    """Stateful: schemathesis chains calls along the schema's links (an agent -> a turn -> its conversation read,
    continued or deleted -> the deleted one read again), every response checked; any failure fails the test."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app, headers=AUTH)
    schema.config.update(base_url="http://127.0.0.1", headers=AUTH)
    # Only what can be linked: the OpenAI-compatible surface is fuzzed on its own, /health and /metrics above.
    schema = schema.include(path_regex="^/(agents|sessions)")
    delete_all = schema["/sessions"]["DELETE"]
    followed: Counter[str] = Counter()

    class Conversations(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Every scenario starts with no conversations, so a replayed scenario meets the state it first met.
            response = delete_all.Case(headers=AUTH).call()
            assert response.status_code == 200, response.text
            self.stored: set[str] = set()  # conversations a turn said it stored, not deleted since
            self.deleted: set[str] = set()
            self.continued: set[str] = set()  # deleted, then named by a turn again

        def step(self, input: Any) -> Any:
            if input.transition is not None and input.is_applied:
                followed[input.transition.id] += 1
            return super().step(input)

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            session_id = (case.path_parameters or {}).get("session_id")
            if case.method == "DELETE" and response.status_code == 204:
                self.deleted.add(session_id)
                self.stored.discard(session_id)
            elif case.method == "DELETE" and response.status_code == 200:
                self.stored.clear()
            elif case.method == "POST" and response.status_code == 200 and isinstance(case.body, dict):
                if case.body.get("session_id") in self.deleted:
                    self.continued.add(case.body["session_id"])
                metadata = response.json()["metadata"] if case.path.endswith("/chat") else {}
                replayed = REPLAYED_HEADER.lower() in response.headers  # an earlier turn's answer, stored back then
                if metadata.get("session_enabled") and not replayed:
                    self.stored.add(metadata["session_id"])
            elif case.method == "GET" and session_id in self.stored:
                assert response.status_code != 404, f"the conversation {session_id!r} a turn stored is not found"
            elif case.method == "GET" and session_id in self.deleted - self.continued:  # however it was reached
                assert response.status_code != 200, f"the deleted conversation {session_id!r} is still there"

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            # A turn naming a deleted conversation starts it again (ids are the client's), which use_after_free
            # cannot tell from a failed delete: the turn's URL is not the conversation's.
            continued = (case.path_parameters or {}).get("session_id") in self.continued
            case.validate_response(
                response,
                checks=[check for check in STATEFUL_CHECKS if not (continued and check is checks.use_after_free)],
                headers=AUTH,
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

    Conversations.run(
        settings=settings(
            max_examples=SCENARIOS, stateful_step_count=8, deadline=None, database=None,
            phases=[Phase.generate],  # no shrinking: replaying calls against a live server is slow and flaky
            suppress_health_check=list(HealthCheck),
        )
    )
    from_a_turn = {link for link in followed if link.startswith("POST /agents/{agent_id}/chat -> ")}
    assert from_a_turn, f"no link out of a turn was followed: {sorted(followed)}"
