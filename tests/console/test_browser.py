"""The console in a real browser: Debian's headless Chromium driven by selenium through Debian's chromedriver
(nothing downloads a browser; `make test` installs both when missing and run as root). The console runs on
uvicorn in a thread, on a free loopback port, over the tests' own warehouse. Screenshots of the main pages are
kept as test artefacts in .artifacts/console/ (or $WIREWATCH_ARTIFACTS/console/)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.console.conftest import ARTIFACTS, HOSTILE_HANDLE, HOSTILE_ID, add_posts_and_group, late_export

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="Debian's chromium and chromium-driver are not installed (`make test` installs them when run as root)",
)


@pytest.fixture(scope="module")
def base_url(console_settings) -> str:
    import uvicorn

    from ingest.console import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(console_settings), host="127.0.0.1", port=port, log_config=None,
                            access_log=False, lifespan="on")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the console did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    os.environ.setdefault("SE_AVOID_STATS", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1360,1000", "--lang=en-US", "--no-first-run", "--disable-extensions"):  # fmt: skip
        opts.add_argument(arg)
    try:
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    except Exception as exc:  # noqa: BLE001 - a browser that will not start is a skip with its reason
        pytest.skip(f"headless chromium did not start: {str(exc).splitlines()[0]}")
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _shot(driver, name: str, full: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if full:
        height = driver.execute_script("return Math.min(document.documentElement.scrollHeight, 6000)")
        driver.set_window_size(1360, max(int(height), 800))
    driver.save_screenshot(str(path))
    driver.set_window_size(1360, 1000)
    return path


def _no_alert(driver) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - raises when no alert is open


def test_events_page_lists_demo_events(browser, base_url, rutte_id):
    from selenium.webdriver.common.by import By

    browser.get(f"{base_url}/events")
    rows = browser.find_elements(By.CSS_SELECTOR, "#event-rows tr[data-event-id]")
    assert len(rows) >= 20
    assert "Nothing new in the last 24 h" in browser.find_element(By.ID, "anchored").text
    assert any(r.get_attribute("data-event-id") == str(rutte_id) for r in rows)
    _shot(browser, "events")
    browser.get(f"{base_url}/events?min_sources=3")
    first = browser.find_element(By.CSS_SELECTOR, "#event-rows tr[data-event-id]")
    assert first.get_attribute("data-event-id") == str(rutte_id)
    assert "Rutte" in first.text and "tens of billions" in first.text
    browser.get(f"{base_url}/events?sort=sources")
    first = browser.find_element(By.CSS_SELECTOR, "#event-rows tr[data-event-id]")
    assert first.get_attribute("data-event-id") == str(rutte_id)


def test_event_page_renders_the_brief(browser, base_url, rutte_id):
    from selenium.webdriver.common.by import By

    browser.get(f"{base_url}/events")
    browser.find_element(By.CSS_SELECTOR, f'a[href="/events/{rutte_id}"]').click()
    assert browser.current_url.endswith(f"/events/{rutte_id}")
    assert browser.find_element(By.ID, "sources-count").text.startswith("5 ")
    assert "2026-06-26 02:47:10 UTC" in browser.find_element(By.ID, "first-seen").text
    single = browser.find_element(By.ID, "single-source").text
    assert "about 40 billion dollars" in single and "opersvodka_demo" in single
    links = {a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#timeline a")}
    assert len(links) == 8 and all(h.startswith(("https://t.me/", "https://x.com/")) for h in links)
    times = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#timeline time")]
    assert times and all(t.endswith(" UTC") for t in times)
    assert browser.find_elements(By.CSS_SELECTOR, "#edits ins") and browser.find_elements(
        By.CSS_SELECTOR, "#edits del"
    )
    assert browser.find_elements(By.CSS_SELECTOR, "#engagement svg polyline")
    _shot(browser, "event")


def test_other_pages(browser, base_url, rutte_id):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{base_url}/events/{rutte_id}")
    browser.find_element(By.CSS_SELECTOR, ".crumbs a[href^='/storylines/']").click()
    assert browser.find_elements(By.CSS_SELECTOR, "#storyline-chart svg rect.span")
    _shot(browser, "storyline")
    browser.get(f"{base_url}/channels/telegram/intelslava")
    assert browser.current_url.endswith("/channels/telegram/1263512207")
    assert browser.find_elements(By.CSS_SELECTOR, "#activity svg rect.bar")
    assert "Deferred by a rate limit" in browser.find_element(By.ID, "run-health").text
    _shot(browser, "channel")
    browser.get(f"{base_url}/events")
    box = browser.find_element(By.CSS_SELECTOR, "header form.quick input[name=q]")
    box.send_keys("контрактов\n")
    # Enter submits the form: wait for the search page (on a busy machine the events page can still be the
    # document when send_keys returns), then look for the highlighted hits.
    wait = WebDriverWait(browser, 20, poll_frequency=0.25)
    wait.until(
        lambda b: "/search" in b.current_url and b.find_elements(By.CSS_SELECTOR, "ol.results, p.notice")
    )
    marks = browser.find_elements(By.CSS_SELECTOR, "ol.results mark")
    assert marks and "контракт" in marks[0].text.lower()
    _shot(browser, "search")
    browser.get(f"{base_url}/health")
    assert "intelslava" in browser.find_element(By.ID, "deferred").text
    _shot(browser, "health")


def test_hostile_posts_execute_nothing(browser, base_url):
    from selenium.webdriver.common.by import By

    pages = ["/events", f"/events?channel={HOSTILE_HANDLE}", f"/channels/telegram/{HOSTILE_ID}", "/search?q=port",
             "/search?q=script", "/channels"]  # fmt: skip
    browser.get(f"{base_url}/events?channel={HOSTILE_HANDLE}")
    ids = [
        r.get_attribute("data-event-id")
        for r in browser.find_elements(By.CSS_SELECTOR, "#event-rows tr[data-event-id]")
    ]
    assert len(ids) >= 3
    pages += [f"/events/{i}" for i in ids]
    shown = ""
    for p in pages:
        browser.get(base_url + p)
        time.sleep(0.3)  # an onerror of a broken image would have fired by now
        _no_alert(browser)
        assert browser.execute_script("return typeof window.__xss") == "undefined", p
        assert not browser.find_elements(By.CSS_SELECTOR, "main img, main script, main iframe"), p
        assert not browser.find_elements(By.CSS_SELECTOR, 'a[href^="javascript"]'), p
        shown += browser.find_element(By.TAG_NAME, "main").text
    assert "<script>window.__xss = 1; alert('xss')</script>" in shown  # visible as text
    assert '<img src=x onerror="window.__xss = 2; alert(2)">' in shown
    assert "[U+202E]gnp.exe" in shown and "\u202e" not in shown
    browser.get(f"{base_url}/channels/telegram/{HOSTILE_ID}")
    # A post's Markdown is formatting, as Chromium lays it out: bold, struck through, a safe link and no other.
    bold = browser.find_element(By.CSS_SELECTOR, "main .md-b")
    assert bold.text == "Ferry" and int(bold.value_of_css_property("font-weight")) >= 600
    assert "line-through" in browser.find_element(By.CSS_SELECTOR, "main .md-s").value_of_css_property(
        "text-decoration"
    )
    assert [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "main a.md-a")] == [
        "https://example.org/ferry"
    ]
    _shot(browser, "hostile-channel")


def test_new_event_appears_without_reload(browser, base_url, console_dsn, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{base_url}/events")
    browser.execute_script("window.__sameDocument = 'yes'")
    before = {
        r.get_attribute("data-event-id")
        for r in browser.find_elements(By.CSS_SELECTOR, "#event-rows tr[data-event-id]")
    }
    headline = "Ferry service to the islands resumes after the storm, harbour master says"
    add_posts_and_group(console_dsn, [late_export(tmp_path, headline)])

    def appeared(d):
        rows = d.find_elements(By.CSS_SELECTOR, "#event-rows tr.new[data-event-id]")
        return [
            r for r in rows if r.get_attribute("data-event-id") not in before and "Ferry service" in r.text
        ]

    new_rows = WebDriverWait(browser, 20, poll_frequency=0.25).until(appeared)
    assert len(new_rows) == 1
    assert browser.execute_script("return window.__sameDocument") == "yes"  # no reload happened
    first = browser.find_element(By.CSS_SELECTOR, "#event-rows tr[data-event-id]")
    assert "Ferry service" in first.text  # newest first
    assert "new" in browser.find_element(By.ID, "live-status").text
