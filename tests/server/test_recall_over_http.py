"""Facts told early in a long conversation are answered after the window has moved on, over HTTP."""

from __future__ import annotations

import httpx
import pytest

from tests.server.test_chat import chat

FACTS = [
    ("My name is Quixotl.", "What is my name?", "Quixotl"),
    ("My favourite colour is teal.", "What is my favourite colour?", "teal"),
    ("Remember that my locker code is 4471.", "What did I ask you to remember?", "4471"),
]
ORDINARY = [
    "Where is Kyoto?", "What time is it in Tokyo?", "How far is Paris from London?", "What is 17 times 23?",
    "What is the monthly payment on a 20000 loan at 5% over 5 years?", "Where is Lisbon?",
]


@pytest.mark.parametrize("orchestrator", ["moe", "smartrouter"])
async def test_three_facts_are_answered_after_sixty_unrelated_turns(
    client: httpx.AsyncClient, orchestrator: str
) -> None:
    session_id = None
    for statement, _, _ in FACTS:
        response = await chat(client, orchestrator, statement, session_id)
        assert response.status_code == 200, response.text
        session_id = response.json()["metadata"]["session_id"]
    for n in range(60):
        assert (await chat(client, orchestrator, ORDINARY[n % len(ORDINARY)], session_id)).status_code == 200
    stored = (await client.get(f"/sessions/{session_id}")).json()["items"]
    assert len(stored) >= 2 * 63  # everything is stored ...
    window_items = 20  # ... but the transcript window given to specialists (config: context_items) is far smaller
    assert all(statement not in str(stored[-window_items:]) for statement, _, _ in FACTS)
    for _, question, expected in FACTS:
        answer = (await chat(client, orchestrator, question, session_id)).json()["response"]
        assert expected in answer, f"{question!r} -> {answer!r}"


async def test_recall_never_crosses_into_another_conversation(client: httpx.AsyncClient) -> None:
    first = await chat(client, "moe", "My name is Quixotl.")
    assert first.status_code == 200
    other = await chat(client, "moe", "Where is Kyoto?")
    answer = (await chat(client, "moe", "What is my name?", other.json()["metadata"]["session_id"])).json()["response"]
    assert "Quixotl" not in answer
