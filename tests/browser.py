"""Debian's chromium + chromedriver, headless and offline, driven by selenium — shared by the browser tests.

Needs `chromium` and `chromium-driver` (apt; `make test` installs them). Set HARNESS_SKIP_BROWSER_TESTS=1 to
skip on a machine without them."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Iterator

import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@contextlib.contextmanager
def chromium(window: str = "1280,900") -> Iterator:
    """A headless chromium with its own throw-away profile; its console messages are kept (driver.get_log)."""
    if os.environ.get("HARNESS_SKIP_BROWSER_TESTS") == "1":
        pytest.skip("HARNESS_SKIP_BROWSER_TESTS=1")
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: apt-get install -y chromium chromium-driver (make test does)")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: no downloads, no usage statistics
    os.environ.setdefault("SE_AVOID_STATS", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="harness-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size={window}",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-quic", f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
