"""The HTML report: self-contained, every piece of log content escaped, rendered in Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from outputs_scenario import HOSTILE, fetch_event  # type: ignore[import-not-found]

from chainbreaker.frameworks import KILLCHAIN_PHASES
from chainbreaker.outputs import get_output
from chainbreaker.outputs.html import render_report

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def test_report_escapes_log_content_and_needs_no_network(result: dict[str, Any]) -> None:
    html = render_report(result, fetch_event)
    assert "<script" not in html.lower()
    assert "onerror=" not in html.replace("onerror=&#34;", "").replace("onerror=&quot;", "")
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", html)  # nothing loaded from elsewhere
    assert "Content-Security-Policy" in html


def test_report_shows_incident_kill_chain_and_evidence(result: dict[str, Any]) -> None:
    html = render_report(result, fetch_event)
    incident = result["incidents"][0]
    assert f'id="{incident["id"]}"' in html
    assert html.count('class="phase reached"') == len(incident["killchain_phases"])
    assert html.count('class="phase missed"') == 7 - len(incident["killchain_phases"])
    assert "WINWORD.EXE" in html  # the raw event behind the macro finding, flattened
    assert "Event.EventData.ParentImage" in html
    assert "System info" in html  # the loose low alert is listed outside incidents
    for phase in KILLCHAIN_PHASES:  # countermeasures of exactly the phases reached
        shown = escape(phase.countermeasures[0]) in html
        assert shown == (phase.id in incident["killchain_phases"]), phase.id


@pytest.mark.browser
def test_report_renders_in_chromium_and_markup_stays_inert(tmp_path: Path, result: dict[str, Any]) -> None:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    (path,) = get_output("html").write(result, tmp_path, fetch_event)
    incident = result["incidents"][0]
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            for summary in page.locator("details > summary").all():
                summary.click()
            shot = page.screenshot(full_page=True)
            assert page.evaluate("typeof window.__pwned") == "undefined"
            assert page.evaluate("typeof window.__img") == "undefined"
            assert page.locator("img").count() == 0
            assert page.locator("script").count() == 0
            text = page.inner_text("body")
            assert incident["title"] in text
            assert HOSTILE in text  # the markup shows literally, as text
            assert requests == [path.as_uri()]
            colours = {
                page.evaluate(f"getComputedStyle(document.querySelectorAll('svg.chain polygon')[{i}]).fill")
                for i in range(7)
            }
            assert len(colours) == 2  # reached and missed phases are drawn differently
        finally:
            browser.close()
    (tmp_path / "report.png").write_bytes(shot)
    assert len(shot) > 20_000  # a blank page compresses to a few KB
