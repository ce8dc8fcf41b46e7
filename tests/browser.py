"""Headless Chromium for tests that open what users open (the HTML report).

Debian's ``chromium`` and ``chromium-driver`` are installed with apt on first
use when missing (CI machines are fresh Debian with root); apt caches the
packages, so later runs only pay for the check.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

PACKAGES = ["chromium", "chromium-driver"]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-dev-shm-usage"]


def _binaries():
    return shutil.which("chromium"), shutil.which("chromedriver")


def ensure_chromium() -> tuple[str, str]:
    """Paths of ``chromium`` and ``chromedriver``; installs them with apt-get when missing."""
    browser, driver = _binaries()
    if browser and driver:
        return browser, driver
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        pytest.fail("the report tests need Debian's chromium and chromium-driver; install them with "
                    "`apt-get install -y --no-install-recommends chromium chromium-driver` (as root)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = [apt, "install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=600", *PACKAGES]
    proc = subprocess.run(install, capture_output=True, text=True, env=env)
    if proc.returncode != 0:        # a fresh machine may have no package lists yet
        subprocess.run([apt, "update", "-o", "DPkg::Lock::Timeout=600"], capture_output=True, text=True, env=env)
        proc = subprocess.run(install, capture_output=True, text=True, env=env)
    browser, driver = _binaries()
    if proc.returncode != 0 or not (browser and driver):
        pytest.fail("could not install chromium and chromium-driver with apt-get (needed to check the HTML "
                    f"report in a browser):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return browser, driver


def open_browser(width: int = 1280, height: int = 1000):
    """A selenium Chrome driver on the system Chromium, headless, recording console messages."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = ensure_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS + [f"--window-size={width},{height}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)
