"""asdrp's HTTP server: the app factory, its settings, and the web chat page it serves."""

from asdrp.server.app import create_app
from asdrp.server.settings import ServerSettings, SettingsError

__all__ = ["ServerSettings", "SettingsError", "create_app"]
