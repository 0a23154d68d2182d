"""The crash browser in a real headless Chromium, driven through chromedriver.

Over the W3C WebDriver HTTP protocol with requests rather than selenium: a few endpoints are
all the tests need, and it keeps a dependency out. Chromium's console log comes from
chromedriver's ``se/log`` endpoint (``goog:loggingPrefs``).
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import missing
from tests.processor.reports.png import colour_counts, read_png


def _reference(found: dict) -> str:
    """An element's id: the one value of a W3C element reference (whose key differs for SVG
    elements in some chromedriver versions)."""
    assert len(found) == 1, found
    return next(iter(found.values()))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Driver:
    def __init__(self, base: str, session: str) -> None:
        self.base = f"{base}/session/{session}"

    def call(self, method: str, path: str, body: dict | None = None):
        answer = requests.request(method, self.base + path, json=body, timeout=60)
        value = answer.json()["value"]
        assert answer.status_code == 200, value
        return value

    def go(self, url: str) -> None:
        self.call("POST", "/url", {"url": url})

    def find(self, css: str) -> str:
        return _reference(self.call("POST", "/element", {"using": "css selector", "value": css}))

    def find_all(self, css: str) -> list[str]:
        found = self.call("POST", "/elements", {"using": "css selector", "value": css})
        return [_reference(e) for e in found]

    def text(self, element: str) -> str:
        return self.call("GET", f"/element/{element}/text")

    def click(self, element: str) -> None:
        self.call("POST", f"/element/{element}/click", {})

    def type(self, element: str, text: str) -> None:
        self.call("POST", f"/element/{element}/value", {"text": text})

    def cookie(self, name: str) -> dict:
        return self.call("GET", f"/cookie/{name}")

    def cookies(self) -> list[dict]:
        return self.call("GET", "/cookie")

    def current_url(self) -> str:
        return self.call("GET", "/url")

    def url_after_click(self, fragment: str, timeout: float = 10.0) -> str:
        """The page's URL once it holds ``fragment`` (or the last one seen after ``timeout``).

        A click that submits a form or follows a link may return before the browser has
        navigated; reading the URL at once then sees the page the click left.
        """
        deadline = time.monotonic() + timeout
        while fragment not in (url := self.current_url()) and time.monotonic() < deadline:
            time.sleep(0.05)
        return url

    def screenshot(self, element: str | None = None) -> bytes:
        """The viewport, or only ``element`` (scrolled into view)."""
        path = f"/element/{element}/screenshot" if element else "/screenshot"
        return base64.b64decode(self.call("GET", path))

    def console(self) -> list[dict]:
        return self.call("POST", "/se/log", {"type": "browser"})


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Driver]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        missing("chromium and chromedriver are not installed (apt-get install chromium-driver)")
    port = _free_port()
    proc = subprocess.Popen(
        [chromedriver, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(base + "/status", timeout=5).json()["value"]["ready"]:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "chromedriver did not start"
            time.sleep(0.1)
        options = {
            "binary": chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",  # tests may run as root, where the sandbox refuses to start
                "--disable-gpu",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                "--window-size=1200,900",
                f"--user-data-dir={tmp_path / 'profile'}",
            ],
        }
        capabilities = {
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "goog:loggingPrefs": {"browser": "ALL"},
        }
        answer = requests.post(
            base + "/session", json={"capabilities": {"alwaysMatch": capabilities}}, timeout=120
        )
        assert answer.status_code == 200, answer.text[-2000:]
        session = answer.json()["value"]["sessionId"]
        try:
            browser = Driver(base, session)
            # Elements of a page still loading after a click are waited for, not missed.
            browser.call("POST", "/timeouts", {"implicit": 10_000})
            yield browser
        finally:
            requests.delete(f"{base}/session/{session}", timeout=60)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def keep_screenshot(driver: Driver, name: str, element: str | None = None) -> None:
    """With CRASHPROC_SCREENSHOTS=DIR, the pages' screenshots go there (the README's)."""
    directory = os.environ.get("CRASHPROC_SCREENSHOTS")
    if directory:
        Path(directory, f"{name}.png").write_bytes(driver.screenshot(element))


def test_top_crashers_to_signature_to_crash_in_chromium(sqlite_web, driver, tmp_path):
    web = sqlite_web
    driver.go(web.url + "/?days=14&until=2026-11-14")
    assert driver.find_all("table.top-crashers svg.spark rect")
    keep_screenshot(driver, "top-crashers")
    first = driver.find("table.top-crashers td.signature a")
    signature = driver.text(first)
    driver.click(first)
    assert "/signature/?signature=" in driver.url_after_click("/signature/?signature=")
    assert driver.text(driver.find("p.signature")) == signature
    assert driver.find_all("svg.chart rect")  # the chart is drawn
    driver.click(driver.find('p.chart-split a[href*="chart=version"]'))
    assert "chart=version" in driver.url_after_click("chart=version")
    versions = {
        p.get("version") for p in web.data.processed.values() if p["signature"] == signature
    }
    legend = {driver.text(item) for item in driver.find_all("ul.legend li")}
    assert legend == versions and len(versions) >= 2  # one colour per version, stacked
    assert driver.find_all("svg.stacked rect")
    keep_screenshot(driver, "signature")
    crash = driver.find("table.crashes a")
    crash_id = driver.text(crash)
    driver.click(crash)
    assert driver.url_after_click(f"/report/{crash_id}").endswith(f"/report/{crash_id}")
    frames = driver.find_all("table.frames tbody tr")
    processed = web.data.processed[crash_id]
    assert processed["signature"] == signature
    thread = processed["json_dump"]["threads"][processed["crashing_thread"]]
    assert len(frames) >= len(thread["frames"])
    first_function = next(f["function"] for f in thread["frames"] if f.get("function"))
    assert first_function in driver.text(driver.find("table.frames"))
    shot = tmp_path / "report.png"
    shot.write_bytes(driver.screenshot())
    keep_screenshot(driver, "report")
    width, height, rows = read_png(shot)
    assert width >= 800 and height >= 600
    assert len(colour_counts(rows)) > 20  # text, header and table lines, not a blank page
    errors = [e for e in driver.console() if e.get("level") == "SEVERE"]
    assert errors == []


def test_search_page_in_chromium(sqlite_web, driver):
    web = sqlite_web
    driver.go(web.url + "/search/?signature=~Crash&date=%3E%3D2026-11-01")
    facet = driver.text(driver.find("table.facet-signature"))
    assert "CrashFunction" in facet
    keep_screenshot(driver, "search")
    results = driver.find_all("table.results tbody tr")
    assert results
    driver.click(driver.find("table.results tbody a"))
    assert "/report/" in driver.url_after_click("/report/")
    assert driver.find_all("table.frames tbody tr")
    assert [e for e in driver.console() if e.get("level") == "SEVERE"] == []


def test_filters_split_chart_and_missing_symbols_in_chromium(sqlite_web, driver):
    web = sqlite_web
    processed = web.data.processed.values()
    driver.go(web.url + "/?days=14&until=2026-11-14")
    driver.click(driver.find('select[name="os_name"] option[value="Linux"]'))
    driver.click(driver.find('form.filters button[type="submit"]'))
    assert "os_name=Linux" in driver.url_after_click("os_name=Linux")
    linux = {p["signature"] for p in processed if p.get("os_name") == "Linux"}
    shown = {driver.text(a) for a in driver.find_all("table.top-crashers td.signature a")}
    assert shown == linux
    driver.click(driver.find("table.top-crashers td.signature a"))
    driver.click(driver.find('p.chart-split a[href*="chart=version"]'))
    assert "chart=version" in driver.url_after_click("chart=version")
    assert driver.find_all("svg.stacked rect")
    assert driver.text(driver.find("table.breakdown-os"))
    driver.go(web.url + "/missing-symbols/?days=14&until=2026-11-14")
    keep_screenshot(driver, "missing-symbols")
    module_link = driver.find("table.missing-symbols td.module a")
    module = driver.text(module_link)
    driver.click(module_link)
    assert "/search/?missing_symbols=" in driver.url_after_click("/search/?missing_symbols=")
    results = driver.find_all("table.results tbody tr")
    assert results
    # The results sort by a column's header, the order in the URL.
    driver.click(driver.find('table.results th a[href*="_sort=signature"]'))
    assert "_sort=signature" in driver.url_after_click("_sort=signature")
    signatures = [driver.text(a) for a in driver.find_all("table.results td.mono a[href^='/sig']")]
    assert signatures == sorted(signatures) and len(signatures) == len(results)
    assert module
    assert [e for e in driver.console() if e.get("level") == "SEVERE"] == []


def test_sign_in_see_protected_fields_sign_out_in_chromium(sqlite_web, driver):
    web = sqlite_web
    token = web.tokens.add("chromium", ["view_protected"])
    crash_id = web.data.crash_ids(example="linux-amd64")[0]
    driver.go(f"{web.url}/report/{crash_id}")
    assert "sample-secret" not in driver.text(driver.find("main"))
    driver.click(driver.find('header a[href="/signin"]'))
    assert "/signin" in driver.url_after_click("/signin")
    driver.type(driver.find('form.signin input[name="token"]'), token)
    driver.click(driver.find('form.signin button[type="submit"]'))
    # The session's cookie, as the browser keeps it: HttpOnly, SameSite=Strict, host-only.
    assert driver.text(driver.find("header b.viewer")) == "chromium"
    cookie = driver.cookie("crashproc_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/" and cookie["value"] != token
    driver.go(f"{web.url}/report/{crash_id}")
    section = driver.find("section.protected")
    protected = driver.text(section)
    assert "sample-secret" in protected and "sample comment" in protected
    keep_screenshot(driver, "report-protected", section)
    driver.click(driver.find("header form.signout button"))
    assert driver.find('header a[href="/signin"]')  # home, signed out
    assert [c for c in driver.cookies() if c["name"] == "crashproc_session"] == []
    driver.go(f"{web.url}/report/{crash_id}")
    text = driver.text(driver.find("main"))
    assert crash_id in text and "sample-secret" not in text
    assert [e for e in driver.console() if e.get("level") == "SEVERE"] == []
