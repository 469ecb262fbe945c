"""The web chat page in real headless Chromium (Debian's /usr/bin/chromium) against a real server.

Needs `apt-get install -y chromium`; the test fails (does not skip) when it is missing, because
the page is part of the product.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from tests.server.conftest import ServerProcess

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-extensions", "--no-first-run"]


def send(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")  # keyboard send


def test_two_dependent_messages_reload_resume_from_sidebar_and_delete(
    server_process: Callable[..., ServerProcess], home: Path
) -> None:
    assert Path(CHROMIUM).exists(), "install Debian's chromium: apt-get install -y chromium"
    server = server_process()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            page.set_default_timeout(30_000)
            page.goto(server.url + "/")
            expect(page.locator("#mode")).to_contain_text("Local mode")
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

            entry.locator(".delete-session").click()
            expect(page.locator("#session-list li")).to_have_count(0)
            expect(page.locator(".message")).to_have_count(0)

            page.set_viewport_size({"width": 380, "height": 700})  # narrow window still usable
            expect(page.get_by_role("textbox", name="Message")).to_be_visible()
        finally:
            browser.close()
    import httpx

    assert httpx.get(f"{server.url}/sessions", timeout=10).json()["sessions"] == []
