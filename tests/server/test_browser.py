"""The web chat page in real headless Chromium (Debian's /usr/bin/chromium) against a real server.

Needs `apt-get install -y chromium`; the tests fail (do not skip) when it is missing, because
the page is part of the product.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.server.conftest import ServerProcess

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-extensions", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
expect.set_options(timeout=30_000)
"""`expect` waits 5 s by default, and a first answer on a loaded 2-core CI machine can take longer: this is
a bound on waiting for the page, not a timing the test asserts."""
MARKER = (255, 0, 255)
"""A colour the page never uses: the message box is painted with it to find its pixels in a screenshot."""


@pytest.fixture
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "install Debian's chromium: apt-get install -y chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def open_page(browser: Browser, server: ServerProcess, viewport: dict[str, int]) -> Page:
    page = browser.new_page(viewport=viewport)
    page.set_default_timeout(30_000)
    page.goto(server.url + "/")
    expect(page.locator("#mode")).to_have_text(re.compile("Local mode"))
    return page


def send(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")  # keyboard send


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB(A) rows of a non-interlaced 8-bit PNG (what Chromium writes); no imaging library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, [], b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, "unexpected PNG format"
    step = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * step
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up = previous[i]
            corner = previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line if step == 3 else b"".join(line[i:i + 3] for i in range(0, stride, 4))))
        previous = line
    return width, height, rows


def visible_marker_pixels(page: Page, selector: str) -> tuple[int, int]:
    """(pixels of `selector` seen in a screenshot of the viewport, pixels the element has).

    The element is painted MARKER for the shot, so only what is really on screen counts: an
    element below the fold, covered, or clipped away contributes nothing.
    """
    page.locator(selector).evaluate(
        "(el, c) => { el.dataset.shotStyle = el.getAttribute('style') || '';"
        " el.style.background = `rgb(${c})`; el.style.color = `rgb(${c})`; el.style.borderColor = `rgb(${c})`;"
        " el.style.caretColor = 'transparent'; el.setAttribute('placeholder-shot', el.placeholder);"
        " el.placeholder = ''; el.blur(); }",
        ",".join(map(str, MARKER)),
    )
    try:
        shot = page.screenshot(full_page=False)
    finally:
        page.locator(selector).evaluate(
            "el => { el.setAttribute('style', el.dataset.shotStyle);"
            " el.placeholder = el.getAttribute('placeholder-shot'); }"
        )
    width, height, rows = png_pixels(shot)
    scale = width / page.viewport_size["width"]
    marker = bytes(MARKER)
    seen = sum(1 for row in rows for x in range(0, len(row), 3) if row[x:x + 3] == marker)
    box = page.locator(selector).bounding_box()
    assert box is not None
    return seen, int(box["width"] * box["height"] * scale * scale)


def test_two_dependent_messages_reload_resume_from_sidebar_and_delete_after_confirming(
    server_process: Callable[..., ServerProcess], browser: Browser
) -> None:
    server = server_process()
    page = open_page(browser, server, {"width": 1000, "height": 800})
    page.get_by_label("Agent").select_option("chitchat")

    send(page, "My name is Zorblax")
    answers = page.locator(".message.assistant")
    expect(answers.nth(0)).to_have_attribute("data-done", "true")
    send(page, "What is my name?")
    expect(answers.nth(1)).to_have_attribute("data-done", "true")
    expect(answers.nth(1)).to_contain_text("Zorblax")
    session_id = page.locator("#session-id").inner_text()
    assert session_id.startswith("s-")

    page.reload()
    expect(page.locator(".message.user")).to_have_count(2)
    expect(page.locator(".message.assistant").nth(1)).to_contain_text("Zorblax")
    expect(page.locator("#session-id")).to_have_text(session_id)

    page.get_by_role("button", name="New conversation").click()
    expect(page.locator(".message")).to_have_count(0)
    entry = page.locator(f'#session-list li[data-session-id="{session_id}"]')
    expect(entry).to_contain_text("My name is Zorblax")
    entry.locator(".open-session").click()
    expect(page.locator(".message.assistant").nth(1)).to_contain_text("Zorblax")
    expect(page.locator("#session-id")).to_have_text(session_id)

    # one click on ✕ only asks; Cancel keeps the conversation
    entry.locator(".delete-session").click()
    confirm = entry.get_by_role("group", name=re.compile("Confirm deleting"))
    expect(confirm).to_contain_text("My name is Zorblax")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    confirm.get_by_role("button", name="Cancel").click()
    expect(entry.locator(".open-session")).to_be_visible()
    assert httpx.get(f"{server.url}/sessions/{session_id}", timeout=10).status_code == 200

    entry.locator(".delete-session").click()
    entry.get_by_role("button", name="Delete", exact=True).click()
    expect(page.locator("#session-list li")).to_have_count(0)
    expect(page.locator(".message")).to_have_count(0)
    assert httpx.get(f"{server.url}/sessions", timeout=10).json()["sessions"] == []


def test_phone_size_shows_the_message_box_on_load_and_a_collapsible_list(
    server_process: Callable[..., ServerProcess], browser: Browser
) -> None:
    server = server_process()
    page = open_page(browser, server, PHONE)
    box = page.get_by_role("textbox", name="Message")
    seen, area = visible_marker_pixels(page, "#message-input")
    assert seen >= 0.8 * area > 0, f"only {seen} of the message box's {area} pixels are on the phone's screen"
    expect(page.get_by_role("button", name="Send")).to_be_in_viewport(ratio=1)

    # the list of conversations starts collapsed on a phone and opens over the conversation
    toggle = page.get_by_role("button", name="Conversations", exact=True)
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("button", name="New conversation")).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("button", name="New conversation")).to_be_in_viewport()
    toggle.click()
    expect(page.get_by_role("button", name="New conversation")).to_be_hidden()

    # an empty conversation suggests questions; one tap asks it
    suggestions = page.locator("#suggestions .suggestion")
    expect(suggestions.first).to_be_visible()
    assert suggestions.count() >= 3
    question = suggestions.first.inner_text()
    suggestions.first.click()
    expect(page.locator(".message.user").first).to_have_text(re.compile(re.escape(question)))
    expect(page.locator(".message.assistant").first).to_have_attribute("data-done", "true")
    expect(page.locator("#suggestions")).to_be_hidden()
    seen, area = visible_marker_pixels(page, "#message-input")
    assert seen >= 0.8 * area > 0, "the message box left the screen once the conversation started"

    # the wide layout: list open beside the conversation, box on screen
    page.set_viewport_size(DESKTOP)
    page.reload()
    expect(page.get_by_role("button", name="New conversation")).to_be_in_viewport()
    seen, area = visible_marker_pixels(page, "#message-input")
    assert seen >= 0.8 * area > 0
    expect(box).to_be_visible()


def test_labels_and_model_are_the_same_after_reload_and_similar_titles_are_told_apart(
    server_process: Callable[..., ServerProcess], browser: Browser
) -> None:
    server = server_process()
    page = open_page(browser, server, DESKTOP)
    page.get_by_label("Agent").select_option("moe")
    send(page, "Where is Kyoto?")
    answers = page.locator(".message.assistant")
    expect(answers.nth(0)).to_have_attribute("data-done", "true")
    # answered by two specialists: stored under a combined tag, still labelled as the conversation's agent
    send(page, "How far is Paris from London and what time is it in Tokyo?")
    expect(answers.nth(1)).to_have_attribute("data-done", "true")
    live = page.locator(".message .head").all_inner_texts()
    assert all("MoE" in label and "offline model" in label for label in live[1::2]), live
    expect(page.locator("#model")).to_contain_text("offline model")

    page.reload()
    expect(page.locator(".message")).to_have_count(4)
    assert page.locator(".message .head").all_inner_texts() == live
    expect(page.locator("#model")).to_contain_text("offline model")
    body = page.locator("body").inner_text()
    assert "geo+clock" not in body and "+clock" not in body

    # a second conversation with the same first words is numbered, with its start time
    page.get_by_role("button", name="New conversation").click()
    send(page, "Where is Kyoto?")
    expect(page.locator(".message.assistant").nth(0)).to_have_attribute("data-done", "true")
    metas = page.locator("#session-list .open-session .meta")
    expect(metas).to_have_count(2)
    expect(metas.nth(0)).to_contain_text("#2")
    expect(metas.nth(1)).to_contain_text("#1")
    assert all("started" in text for text in metas.all_inner_texts())


def test_an_oversized_message_stays_in_the_box_with_one_plain_error(
    server_process: Callable[..., ServerProcess], browser: Browser
) -> None:
    server = server_process()
    page = open_page(browser, server, PHONE)
    count = page.locator("#char-count")
    expect(count).to_have_text("0 / 20,000")  # the limit is shown before anything is sent
    text = "x" * 30_000
    send(page, text)
    expect(count).to_have_text("30,000 / 20,000")
    errors = page.locator("[role=alert]:visible")
    expect(errors).to_have_count(1)
    expect(errors).to_contain_text("30,000 characters")
    expect(errors).to_contain_text("20,000")
    assert page.get_by_role("textbox", name="Message").input_value() == text
    expect(page.locator(".message")).to_have_count(0)
    assert "ASDRP_" not in page.locator("body").inner_text()
    assert httpx.get(f"{server.url}/sessions", timeout=10).json()["sessions"] == []

    # shortening it clears the error and sends normally
    send(page, "Where is Kyoto?")
    expect(errors).to_have_count(0)
    expect(page.locator(".message.assistant").first).to_have_attribute("data-done", "true")

    # a refusal by the server (a limit lowered since the page loaded) is taken back the same way
    refusal = '{"detail": "The input is 16 characters; the limit is 10 (ASDRP_MAX_INPUT_CHARS).", ' \
              '"error_code": "input_too_large"}'
    page.route("**/chat/stream", lambda route: route.fulfill(status=413, body=refusal,
                                                              content_type="application/json"))
    send(page, "What time is it?")
    expect(errors).to_have_count(1)
    expect(errors).to_contain_text("the limit is 10 characters")
    assert page.get_by_role("textbox", name="Message").input_value() == "What time is it?"
    expect(page.locator(".message")).to_have_count(2)  # only the first exchange
    assert "ASDRP_" not in page.locator("body").inner_text()


def test_a_server_with_api_keys_asks_for_the_key_where_a_phone_shows_it(
    server_process: Callable[..., ServerProcess], browser: Browser
) -> None:
    server = server_process(env={"ASDRP_API_KEYS": "k-alice:alice"})
    page = browser.new_page(viewport=PHONE)
    page.set_default_timeout(30_000)
    page.goto(server.url + "/")
    hint = page.locator("#key-hint")
    expect(hint).to_contain_text("needs an API key")
    expect(hint).to_be_in_viewport(ratio=1)
    key = page.get_by_label("API key")
    expect(key).to_be_in_viewport(ratio=1)
    key.fill("k-alice")
    page.get_by_role("button", name="Save key").click()
    expect(hint).to_be_hidden()
    page.get_by_role("button", name="Conversations", exact=True).click()
    send(page, "Where is Kyoto?")
    expect(page.locator(".message.assistant").first).to_have_attribute("data-done", "true")
    expect(page.locator(".message.assistant").first).to_contain_text("Japan")
