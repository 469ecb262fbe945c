"""uvicorn's HTTP protocol with a deadline on request headers (`ASDRP_HEADER_TIMEOUT_S`).

uvicorn times out idle keep-alive connections but not a request whose line or headers never
finish: any data restarts nothing, so a client sending a header byte now and then holds a
descriptor for as long as it likes (slowloris). This subclass arms one timer when a connection
opens and after each response, and closes the connection if it fires while no request is being
answered, that is while the server is still waiting for headers. Bodies are timed by
`asdrp.server.guard`. `asdrp serve` selects it with `http=HTTP_PROTOCOL`; uvicorn accepts the same
import string on its command line (`--http asdrp.server.http_protocol:HeaderDeadlineProtocol`).
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _BaseProtocol
except ImportError:  # uvicorn without the [standard] extra: the pure-Python parser
    from uvicorn.protocols.http.h11_impl import H11Protocol as _BaseProtocol  # type: ignore[assignment]

HTTP_PROTOCOL = "asdrp.server.http_protocol:HeaderDeadlineProtocol"
"""The import string uvicorn loads in every worker."""


@functools.cache
def header_timeout_s() -> float:
    """This process's header deadline, from the same `ASDRP_*` environment the app factory reads."""
    from asdrp.server.settings import ServerSettings

    return ServerSettings().header_timeout_s


class HeaderDeadlineProtocol(_BaseProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's protocol, closing connections whose request headers do not arrive in time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_deadline()  # the next request's headers are due within the deadline too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_deadline = self.loop.call_later(header_timeout_s(), self._header_deadline_passed)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _header_deadline_passed(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        answering = self.cycle is not None and not self.cycle.response_complete
        if not answering and not getattr(self, "pipeline", None):
            self.transport.close()
