"""asdrp.memory: persistent session memory — stores, the SDK Session adapter, windows and ids.

Imports nothing from the layers above (agents, orchestration, server).
"""

from asdrp.memory.errors import (
    InvalidCursorError,
    InvalidDatabasePathError,
    InvalidItemError,
    InvalidSessionIdError,
    MemoryStoreError,
    SessionBusyError,
    StoreUnavailableError,
)
from asdrp.memory.ids import (
    DEFAULT_USER,
    derive_session_id,
    new_session_id,
    validate_caller,
    validate_session_id,
    validate_user,
)
from asdrp.memory.migrations import SQLITE_MIGRATIONS, MigrationRegistry
from asdrp.memory.paths import home_dir, resolve_database_path, sessions_dir
from asdrp.memory.records import ConversationKey, SessionInfo, StoredItem, WindowSettings
from asdrp.memory.session import ConversationSession
from asdrp.memory.sqlite_store import SqliteStore
from asdrp.memory.store import SessionStore
from asdrp.memory.stores import open_store
from asdrp.memory.window import WindowRow, estimate_tokens, is_turn_start, select_window

__all__ = [
    "DEFAULT_USER",
    "SQLITE_MIGRATIONS",
    "ConversationKey",
    "ConversationSession",
    "InvalidCursorError",
    "InvalidDatabasePathError",
    "InvalidItemError",
    "InvalidSessionIdError",
    "MemoryStoreError",
    "MigrationRegistry",
    "SessionBusyError",
    "SessionInfo",
    "SessionStore",
    "SqliteStore",
    "StoreUnavailableError",
    "StoredItem",
    "WindowRow",
    "WindowSettings",
    "derive_session_id",
    "estimate_tokens",
    "home_dir",
    "is_turn_start",
    "new_session_id",
    "open_store",
    "resolve_database_path",
    "select_window",
    "sessions_dir",
    "validate_session_id",
    "validate_caller",
    "validate_user",
]
