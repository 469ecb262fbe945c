"""The OpenAPI schema, fuzzed in-process with schemathesis: no request may produce a 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from asdrp.server import create_app
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
