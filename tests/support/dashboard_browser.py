"""The dashboard as a user meets it: `rca dashboard`'s child process on a free port, and Debian's chromium
driven headless by playwright (which never downloads a browser here: it is given chromium's path).

Shared by the browser tests and bench/dashboard.py.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from urllib.parse import urlparse

import requests

from rca.cli.dashboard_commands import start
from tests.support.local_server import free_port
from tests.support.waiting import wait_until

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
WIDE = {"width": 1600, "height": 1000}
NARROW = {"width": 820, "height": 1000}  # a laptop window split in two; Streamlit stacks columns below 640 px
GRAPH = '.rca-graph svg, [data-testid="stGraphVizChart"] svg'  # laid out on the server, or in the browser
CHART = '[data-testid="stVegaLiteChart"]'
EXCEPTION = '[data-testid="stException"]'


class BrowserMissing(RuntimeError):
    """Debian's chromium is not installed."""


@contextlib.contextmanager
def running_dashboard(env: dict) -> Iterator[str]:
    """The dashboard on a free loopback port with ``env``; yields its URL and stops it at the end."""
    port = free_port()
    child = start("127.0.0.1", port, env)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if child.poll() is not None:
            raise RuntimeError(f"the dashboard exited with {child.returncode}")
        try:
            return requests.get(f"{url}/_stcore/health", timeout=1).text.strip() == "ok"
        except requests.RequestException:
            return False

    try:
        wait_until(healthy, timeout=60, interval=0.2, message="the dashboard answers /_stcore/health")
        yield url
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def chromium_path() -> str:
    """Debian's chromium binary."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise BrowserMissing("chromium not found: install the Debian package 'chromium'")
    return path


@contextlib.contextmanager
def browser() -> Iterator:
    """A headless chromium (Debian's) under playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        chromium = driver.chromium.launch(
            executable_path=chromium_path(), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@contextlib.contextmanager
def profile_context(viewport: dict) -> Iterator:
    """A headless chromium (Debian's) with its own profile in a temporary directory, as an engineer's browser has:
    it keeps what it compiled of a site's JavaScript between tabs, which browser()'s contexts (incognito) do not
    keep as well; measured, a new tab of the dashboard costs ~0.5 s less renderer CPU in a profile."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="rca-chromium-profile-") as profile, sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            profile,
            executable_path=chromium_path(),
            headless=True,
            args=["--no-sandbox", "--disable-gpu"],
            viewport=viewport,  # type: ignore[arg-type]  # the same dicts new_page() takes
        )
        try:
            yield context
        finally:
            context.close()


def offline_page(chromium, viewport: dict, refused: list[str]):
    """A page that may load only from loopback; every other request is refused and recorded in ``refused``."""
    page = chromium.new_page(viewport=viewport)

    def only_loopback(route) -> None:
        host = urlparse(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOOPBACK_HOSTS:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    return page


def wait_incident_ready(page, timeout_ms: float = 30000) -> None:
    """Until the incident page shows its path picture and its timeline."""
    page.wait_for_selector(GRAPH, timeout=timeout_ms)
    page.wait_for_selector(f"{CHART} canvas, {CHART} svg", timeout=timeout_ms)


def wait_incidents_ready(page, timeout_ms: float = 30000) -> None:
    """Until the incidents page shows its table."""
    page.wait_for_selector('[data-testid="stDataFrame"] canvas, [data-testid="stDataFrame"] table', timeout=timeout_ms)
