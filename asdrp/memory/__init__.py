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
    StaleTurnError,
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
from asdrp.memory.paths import home_dir, resolve_database_path, sessions_dir
from asdrp.memory.records import ConversationKey, SessionInfo, StoredItem, WindowSettings
from asdrp.memory.rows import estimate_tokens, item_text, message_text
from asdrp.memory.session import ConversationSession
from asdrp.memory.stores import Location, SessionStore, SqliteStore, location_key, open_store, store_kind
from asdrp.memory.stores.migrations.sqlite import SQLITE_MIGRATIONS
from asdrp.memory.window import WindowRow, select_window

__all__ = [
    "DEFAULT_USER",
    "SQLITE_MIGRATIONS",
    "ConversationKey",
    "ConversationSession",
    "InvalidCursorError",
    "InvalidDatabasePathError",
    "InvalidItemError",
    "InvalidSessionIdError",
    "Location",
    "MemoryStoreError",
    "SessionBusyError",
    "SessionInfo",
    "SessionStore",
    "SqliteStore",
    "StaleTurnError",
    "StoreUnavailableError",
    "StoredItem",
    "WindowRow",
    "WindowSettings",
    "derive_session_id",
    "estimate_tokens",
    "home_dir",
    "item_text",
    "location_key",
    "message_text",
    "new_session_id",
    "open_store",
    "resolve_database_path",
    "select_window",
    "sessions_dir",
    "store_kind",
    "validate_caller",
    "validate_session_id",
    "validate_user",
]
