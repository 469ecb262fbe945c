"""Multi-turn conversations over HTTP, each answer judged correct / honest / wrong against values
computed from first principles (see `expectations`). The offline model must never be confidently
wrong, and must be right at least 95% of the time."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from tests.scenarios.conversations import all_conversations
from tests.scenarios.expectations import Conversation, Verdict

MIN_CONVERSATIONS = 80
MIN_CORRECT_SHARE = 0.95


async def _run(client: httpx.AsyncClient, conversation: Conversation) -> list[tuple[str, str, Verdict]]:
    """(message, answer, verdict) of every turn of one conversation, in one session."""
    session_id = None
    judged = []
    for turn in conversation.turns:
        response = await client.post(f"/agents/{conversation.agent}/chat",
                                     json={"input": turn.message, "session_id": session_id})
        assert response.status_code == 200, response.text
        body = response.json()
        session_id = body["metadata"]["session_id"]
        judged.append((turn.message, body["response"], turn.expect.judge(body["response"])))
    return judged


def _table(counts: dict[str, Counter[str]]) -> str:
    lines = [f"{'category':<14}{'correct':>9}{'honest':>9}{'wrong':>8}{'answers':>9}"]
    total: Counter[str] = Counter()
    for category, count in counts.items():
        total.update(count)
        lines.append(f"{category:<14}{count['correct']:>9}{count['honest']:>9}{count['wrong']:>8}"
                     f"{sum(count.values()):>9}")
    lines.append(f"{'total':<14}{total['correct']:>9}{total['honest']:>9}{total['wrong']:>8}{sum(total.values()):>9}")
    return "\n".join(lines)


async def test_conversations_are_right_or_honestly_unsure(
    scenario_client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    conversations = all_conversations()
    assert len(conversations) >= MIN_CONVERSATIONS
    counts: dict[str, Counter[str]] = {}
    failures: list[str] = []
    for conversation in conversations:
        for turn, (message, answer, verdict) in zip(conversation.turns, await _run(scenario_client, conversation)):
            counts.setdefault(conversation.category, Counter())[verdict] += 1
            if verdict != "correct":
                failures.append(f"[{verdict}] {conversation.category} / {conversation.agent}: {message!r} "
                                f"(expected {turn.expect.describe}) -> {answer!r}")
    total = Counter[str]()
    for count in counts.values():
        total.update(count)
    report = f"{len(conversations)} conversations\n{_table(counts)}"
    with capsys.disabled():
        print("\n" + report + ("\n" + "\n".join(failures) if failures else ""))
    assert total["wrong"] == 0, report + "\n" + "\n".join(failures)
    assert total["correct"] >= MIN_CORRECT_SHARE * sum(total.values()), report + "\n" + "\n".join(failures)
