"""The Python samples of SESSION_MEMORY_SPEC.md, verbatim.

Tests execute these strings as written (top-level `await` included); a drift test compares them
with the spec file when it is available beside the repository, so a changed spec fails loudly.
"""

PRELUDE = """\
from asdrp.agents.agent_factory import AgentFactory
"""
"""What a reader of the API Reference has in scope: the samples there use `AgentFactory` unimported."""

QUICK_START = """\
from asdrp.agents.agent_factory import get_agent_with_session
from agents import Runner

# Get agent with session memory
agent, session = await get_agent_with_session("geo")

# First message
result1 = await Runner.run(agent, input="What's near Times Square?", session=session)
print(result1.final_output)

# Follow-up message (context preserved)
result2 = await Runner.run(agent, input="How far is the nearest subway?", session=session)
print(result2.final_output)  # Agent remembers Times Square context
"""

FACTORY_GET_AGENT_WITH_SESSION = """\
factory = AgentFactory()
agent, session = await factory.get_agent_with_session("geo")
"""

GET_SESSION = """\
session = factory.get_session("geo", session_id="user_123")
"""

CLEAR_SESSION_CACHE = """\
factory.clear_session_cache()
"""

CONVENIENCE = """\
from asdrp.agents.agent_factory import get_agent_with_session

# Equivalent to AgentFactory.instance().get_agent_with_session()
agent, session = await get_agent_with_session("geo")
"""

MULTI_USER = """\
async def handle_user_message(user_id: str, message: str):
    factory = AgentFactory.instance()
    agent, session = await factory.get_agent_with_session(
        "geo",
        session_id=f"user_{user_id}"
    )
    result = await Runner.run(agent, input=message, session=session)
    return result.final_output
"""

CONVERSATION_THREADS = """\
async def chat(user_id: str, thread_id: str, message: str):
    session_id = f"{user_id}_{thread_id}"
    agent, session = await get_agent_with_session("geo", session_id=session_id)
    result = await Runner.run(agent, input=message, session=session)
    return result.final_output
"""

PERSISTENT = """\
# Conversations persist across restarts
agent, session = await get_agent_with_session("support", session_id="ticket_12345")
"""

STATELESS = """\
# No session returned
agent, session = await get_agent_with_session("api_agent")
assert session is None

# Each call is independent
result = await Runner.run(agent, input="Query")
"""

ALL = {
    "quick_start": QUICK_START,
    "factory_get_agent_with_session": FACTORY_GET_AGENT_WITH_SESSION,
    "get_session": GET_SESSION,
    "clear_session_cache": CLEAR_SESSION_CACHE,
    "convenience": CONVENIENCE,
    "multi_user": MULTI_USER,
    "conversation_threads": CONVERSATION_THREADS,
    "persistent": PERSISTENT,
    "stateless": STATELESS,
}
