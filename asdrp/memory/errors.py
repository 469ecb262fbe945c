"""Domain exceptions of the memory layer, so callers (server, CLI) can map each to a clear answer.

Every message names the offending value (session id, path, user, store) instead of leaving the
reader to guess from a traceback.
"""

from __future__ import annotations


class MemoryStoreError(Exception):
    """Base class of every error raised by asdrp.memory."""


class InvalidSessionIdError(MemoryStoreError, ValueError):
    """A session id or user id breaks the id rule (the server maps it to 422)."""


class InvalidDatabasePathError(MemoryStoreError, ValueError):
    """A configured database path escapes the allowed base directory."""


class InvalidItemError(MemoryStoreError, ValueError):
    """An item given to a store is not a JSON-serialisable dict; nothing of the batch is written."""


class InvalidCursorError(MemoryStoreError, ValueError):
    """A paging cursor was not produced by this store (tampered or truncated)."""


class StoreUnavailableError(MemoryStoreError):
    """The database is down, unreachable or closed (the server maps it to 503)."""


class SessionBusyError(MemoryStoreError):
    """The conversation is locked by another turn and the caller asked not to wait (409)."""


class StaleTurnError(MemoryStoreError):
    """An interrupted turn was resumed twice: the other resume already stored it (409)."""


class InvalidRecallQueryError(MemoryStoreError, ValueError):
    """A recall query that is not text, too long, or asks for a limit out of range (422)."""
