"""Suite-wide checks: a test fails if asyncio logged an exception nobody retrieved while it ran.

"Task exception was never retrieved" means a task failed and its error went nowhere: a request
that answered correctly can still leave one behind (the forged-cursor case did, 60 lines a time),
so these lines are turned into failures instead of scrolling past in the log.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator

import pytest

_NEVER_RETRIEVED = "exception was never retrieved"


class _UnretrievedExceptions(logging.Handler):
    """Collects asyncio's "... exception was never retrieved" records."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if _NEVER_RETRIEVED in message:
            self.messages.append(message.splitlines()[0] + (f": {record.exc_info[1]!r}" if record.exc_info else ""))

    def take(self) -> list[str]:
        found, self.messages = self.messages, []
        return found


_UNRETRIEVED = _UnretrievedExceptions()
logging.getLogger("asyncio").addHandler(_UNRETRIEVED)
_BETWEEN_TESTS: list[str] = []
"""Reports that arrived between two tests (a task freed late): failed at the end of the run."""


@pytest.fixture(autouse=True)
def _no_unretrieved_task_exceptions() -> Iterator[None]:
    """Fail the test during which asyncio reported an exception that no one retrieved."""
    _BETWEEN_TESTS.extend(_UNRETRIEVED.take())
    yield
    found = _UNRETRIEVED.take()
    if found:
        pytest.fail("asyncio: " + "; ".join(found), pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Tasks freed only by the cycle collector report late: collect once more and fail the run on any."""
    gc.collect()
    found = _BETWEEN_TESTS + _UNRETRIEVED.take()
    if found:
        print("\nasyncio reported exceptions nobody retrieved:\n  " + "\n  ".join(found))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
