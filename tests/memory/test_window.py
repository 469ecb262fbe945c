"""The pure window functions, independent of any store."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from asdrp.memory import WindowRow, WindowSettings, estimate_tokens, select_window
from asdrp.memory.rows import is_turn_start
from tests.memory.items import assistant_msg, call, no_orphan_outputs, output, texts, tool_turn, user_msg


def rows(items: list[dict]) -> list[WindowRow]:
    return [WindowRow.of(item) for item in items]


def test_token_estimate_is_compact_json_length_over_four_at_least_one() -> None:
    item = user_msg("x" * 400)
    assert estimate_tokens(item) == len(json.dumps(item, separators=(",", ":"))) // 4
    assert estimate_tokens({}) == 1


def test_only_user_messages_start_turns() -> None:
    assert is_turn_start(user_msg("hi"))
    assert is_turn_start({"type": "message", "role": "user", "content": []})
    assert not is_turn_start(assistant_msg("hi"))
    assert not is_turn_start(output("c1"))
    assert not is_turn_start({"role": "system", "content": "x"})


def test_an_empty_tail_gives_an_empty_window() -> None:
    assert select_window([], WindowSettings()) == []


def test_the_oldest_fitting_turn_boundary_is_chosen() -> None:
    items = tool_turn(1) + tool_turn(2) + tool_turn(3)
    assert texts(select_window(rows(items), WindowSettings(max_items=11))) == texts(tool_turn(2) + tool_turn(3))
    assert select_window(rows(items), WindowSettings(max_items=12)) == items


def test_a_tail_that_starts_with_an_orphan_output_is_cut_after_it() -> None:
    # the store fetched a tail whose first item's call lies before the tail
    items = [output("c0"), assistant_msg("a0"), call("c1"), output("c1"), assistant_msg("a1")]
    assert texts(select_window(rows(items), WindowSettings(max_items=5))) == [
        "a0", "function_call:c1", "function_call_output:c1", "a1"
    ]


def test_windows_of_every_size_keep_tool_pairs_together() -> None:
    items = [user_msg("u"), call("a"), call("b"), output("b"), output("a"), call("c"), output("c"), assistant_msg("z")]
    for size in range(1, 10):
        window = select_window(rows(items), WindowSettings(max_items=size))
        assert len(window) <= size and no_orphan_outputs(window)


def test_the_token_budget_is_a_hard_limit() -> None:
    items = [user_msg("x" * 4000)]
    assert select_window(rows(items), WindowSettings(max_tokens=100)) == []
    items = [user_msg("q"), assistant_msg("y" * 4000), user_msg("q2"), assistant_msg("short")]
    window = select_window(rows(items), WindowSettings(max_tokens=200))
    assert texts(window) == ["q2", "short"]
    assert sum(estimate_tokens(i) for i in window) <= 200


def reference_window(items: list[dict], settings: WindowSettings) -> list[dict]:
    """The window rule stated plainly, by brute force over every start position."""

    def fits(start: int) -> bool:
        suffix = items[start:]
        return len(suffix) <= settings.max_items and (
            settings.max_tokens is None or sum(estimate_tokens(i) for i in suffix) <= settings.max_tokens
        )

    def orphan_free(start: int) -> bool:
        seen: set[str] = set()
        for item in items[start:]:
            if item.get("type") == "function_call":
                seen.add(item["call_id"])
            elif item.get("type") == "function_call_output" and item["call_id"] not in seen:
                return False
        return True

    candidates = [s for s in range(len(items)) if fits(s) and orphan_free(s)]
    turn_starts = [s for s in candidates if is_turn_start(items[s])]
    if turn_starts:
        return items[turn_starts[0]:]
    return items[candidates[0]:] if candidates else []


@given(
    shape=st.lists(st.sampled_from(["user", "assistant", "tool", "call", "output"]), max_size=40),
    max_items=st.integers(min_value=1, max_value=30),
    max_tokens=st.one_of(st.none(), st.integers(min_value=1, max_value=400)),
)
@settings(max_examples=300, deadline=None)
def test_select_window_matches_the_rule_stated_by_brute_force(
    shape: list[str], max_items: int, max_tokens: int | None
) -> None:
    items: list[dict] = []
    for n, kind in enumerate(shape):
        if kind == "user":
            items.append(user_msg(f"u{n}"))
        elif kind == "assistant":
            items.append(assistant_msg(f"a{n}"))
        elif kind == "tool":
            items.extend([call(f"c{n}"), output(f"c{n}")])
        elif kind == "call":
            items.append(call(f"c{n}"))
        else:  # an output whose call lies before the tail, or never existed
            items.append(output(f"gone{n}"))
    budget = WindowSettings(max_items=max_items, max_tokens=max_tokens)
    assert select_window(rows(items), budget) == reference_window(items, budget)
