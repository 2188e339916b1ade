"""The workbench in a real headless Chromium (Debian's package) driven by Playwright.

A real uvicorn server runs in a thread on a free loopback port over a store filled from a result
document of the real correlator. The test logs in, opens the incident list and an incident,
changes its status, reloads and sees it kept, and checks that hostile values (HTML/JS in a user
name, a command line, a rule title, a note) are shown literally and nothing executes.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn
from store_scenario import XSS_CMD, XSS_TITLE, XSS_USER, result_document, scenario_alerts

from chainbreaker.web import WebSettings, create_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(settings: WebSettings) -> Iterator[tuple[str, str]]:
    app = create_app(settings)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", app.state.token
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(server: tuple[str, str]) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context()
        pg = context.new_page()
        pg.dialogs = []  # type: ignore[attr-defined]
        pg.foreign = []  # type: ignore[attr-defined]
        pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
        base = server[0]
        pg.on("request", lambda r: None if r.url.startswith(base) else pg.foreign.append(r.url))  # type: ignore[attr-defined]
        yield pg
        context.close()
        browser.close()


def _nothing_executed(page: Any) -> None:
    assert page.dialogs == []
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"], svg[onload]').length") == 0
    assert page.evaluate("[...document.scripts].every(s => s.src.includes('/static/'))")


def test_triage_in_the_browser_and_nothing_executes(
    page: Any, server: tuple[str, str], doc: dict[str, Any]
) -> None:
    base, token = server
    top = doc["incidents"][0]
    page.goto(base + "/login")
    page.fill("#login-analyst", "erin")
    page.fill("#login-token", token)
    page.click("#login-submit")
    page.wait_for_url(base + "/")
    assert page.text_content("#analyst-name") == "erin"

    rows = page.locator("#incidents tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).get_attribute("data-id") == top["id"]
    assert rows.nth(0).locator("td.users").text_content() == XSS_USER
    _nothing_executed(page)

    page.click(f"tr[data-id='{top['id']}'] a.incident-link")
    page.wait_for_selector("#incident[data-ready='1']")
    assert page.locator("#users li").all_text_contents() == [XSS_USER]
    assert any(XSS_TITLE in t for t in page.locator("#findings td.finding-title").all_text_contents())
    assert XSS_CMD in page.locator("#findings dd").all_text_contents()
    assert page.locator("#killchain-bar .phase.on").count() == len(top["killchain_phases"])
    assert page.locator("#timeline circle.event-dot").count() >= len(top["alert_ids"])
    assert page.locator("#graph g.node").count() >= 4
    assert page.locator("#graph line.edge").count() >= 3

    page.select_option("#triage-status", "contained")
    page.fill("#triage-assignee", "erin")
    page.click("#triage-save")
    # Locators, not wait_for_function: polling a JS string is eval, which our CSP forbids.
    page.locator("#triage-state", has_text="saved: contained").wait_for()
    page.fill("#note-body", '<img src=x onerror="window.__xss=4;alert(4)"> isolated WKS-05')
    page.click("#note-form button")
    page.locator("#notes li").first.wait_for()
    assert page.locator("#notes li").count() == 1

    page.reload()
    page.wait_for_selector("#incident[data-ready='1']")
    assert page.input_value("#triage-status") == "contained"
    assert page.input_value("#triage-assignee") == "erin"
    assert "erin" in page.text_content("#triage-state")
    assert page.locator("#notes li p").all_text_contents() == [
        '<img src=x onerror="window.__xss=4;alert(4)"> isolated WKS-05'
    ]
    audit = page.locator("#audit li").all_text_contents()
    assert any("status" in a and "new → contained" in a for a in audit)
    _nothing_executed(page)

    page.goto(base + "/?status=contained")
    assert page.locator("#incidents tbody tr").count() == 1
    page.goto(base + "/runs/latest/matrix")
    assert "h0" not in (page.get_attribute("[data-technique='T1003']", "class") or "h0")
    _nothing_executed(page)
    assert page.foreign == []  # works offline: nothing fetched from anywhere else


def test_upload_in_the_browser_starts_a_job(page: Any, server: tuple[str, str], tmp_path: Path) -> None:
    base, token = server
    page.goto(base + "/login")
    page.fill("#login-analyst", "frank")
    page.fill("#login-token", token)
    page.click("#login-submit")
    page.wait_for_url(base + "/")
    result = tmp_path / "chainbreaker.json"
    result.write_bytes(orjson.dumps(result_document(scenario_alerts()[5:7])))
    page.goto(base + "/hunt")
    page.set_input_files("#upload-file", str(result))
    page.click("#upload-form button")
    page.wait_for_selector("#jobs tr[data-state='done']", timeout=30_000)
    assert page.locator("#jobs tr[data-state='done'] a").text_content().startswith("RUN-")
    assert page.foreign == []
