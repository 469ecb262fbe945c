"""One APIRouter per resource: health (+metrics), agents, chat, sessions, and the web page."""
