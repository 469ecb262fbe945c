"""Opaque keyset cursors for listing sessions newest first, shared by every store.

A cursor encodes the (updated_at, session_id) of the last row of a page; the next page holds
rows strictly older in that order. Unlike offsets, this never repeats or skips a row that stays
put while other conversations are written concurrently.
"""

from __future__ import annotations

import base64
import json

from asdrp.memory.errors import InvalidCursorError


def encode_cursor(updated_at: float, session_id: str) -> str:
    """The cursor pointing just after a row."""
    raw = json.dumps([updated_at, session_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    """The (updated_at, session_id) a cursor points after; InvalidCursorError if it is not ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        updated_at, session_id = json.loads(raw)
        if not isinstance(updated_at, (int, float)) or not isinstance(session_id, str):
            raise ValueError("wrong shape")
        return float(updated_at), session_id
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidCursorError(f"Invalid cursor {cursor[:40]!r}: it was not returned by list_sessions") from exc
