"""A real browser for the tests: Debian's chromium driven by Playwright against the live
server. Every page gets its console errors, uncaught exceptions, dialogs and requests
that leave the server recorded, and can be checked with axe-core (vendored).

Fixtures: `browser` (session), `page` (a fresh context on the live server) and
`live_chain` (a local NEAR RPC the live server and the page both use).
"""

import functools
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Chain

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"


@functools.cache
def _axe_source() -> str:
    return AXE.read_text() + "\n;0"  # a script whose value is 0, not axe's last statement


ROOT = Path(__file__).resolve().parents[2]
# Where the tests save screenshots: var/screenshots unless NEARLABEL_SCREENSHOTS says
# otherwise (`make screenshots` points it at docs/screenshots).
SCREENSHOTS = Path(os.environ.get("NEARLABEL_SCREENSHOTS") or ROOT / "var" / "screenshots")


@dataclass
class Watched:
    """What a page did besides rendering: each list but `chain_requests` should stay empty.

    `chain_requests` records what the page asked the test's NEAR RPC (`live_chain`), which
    it may call (a wallet does): the JSON-RPC method of each POST ("query", "send_tx", ...),
    or the HTTP method of anything else. Chromium's CORS preflights do not pass through
    Playwright's routing, so they are not listed (the chain answers them itself).
    """

    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    chain_requests: list[str] = field(default_factory=list)


# The URLs of the local NEAR RPCs `live_chain` runs now: the only place besides the live
# server that a page may reach.
_LIVE_CHAIN_URLS: set[str] = set()


def _chain_call(request: Any) -> str:
    if request.method != "POST":
        return request.method
    try:
        return str(json.loads(request.post_data or "{}").get("method"))
    except (ValueError, AttributeError):
        return "POST"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("NEARLABEL_REQUIRE_SERVICES"):
            pytest.fail("chromium is missing: `apt-get install chromium` (.ci/run does)")
        pytest.skip("no chromium here (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the test's own database
    # calls are synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser, live_server) -> Iterator[Callable[..., Any]]:
    """Opens a page in a fresh browser context (a person of their own: own cookies and
    storage) on the live server; each page's `.watched` says what went wrong there.
    Every context it opened is closed after the test."""
    contexts: list[Any] = []

    def open_page(**options: Any) -> Any:
        options = {"viewport": {"width": 1200, "height": 900}, **options}
        context = browser.new_context(base_url=live_server.url, **options)
        contexts.append(context)
        watched = Watched()

        def route(route: Any) -> None:
            url = route.request.url
            if url.startswith(live_server.url):
                route.continue_()
            elif any(url == base or url.startswith(base + "/") for base in _LIVE_CHAIN_URLS):
                watched.chain_requests.append(_chain_call(route.request))
                route.continue_()
            else:  # nothing may come from a CDN or anywhere else at run time
                watched.outside_requests.append(url)
                route.abort()

        context.route("**/*", route)
        opened = context.new_page()
        opened.on(
            "console",
            lambda m: watched.console_errors.append(m.text) if m.type == "error" else None,
        )
        opened.on("pageerror", lambda error: watched.console_errors.append(str(error)))

        def dialog(shown: Any) -> None:
            watched.dialogs.append(shown.message)
            shown.dismiss()

        opened.on("dialog", dialog)
        opened.watched = watched
        return opened

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page) -> Any:
    """A fresh browser context on the live server; page.watched says what went wrong."""
    return new_page()


@pytest.fixture
def live_chain(chain: Chain, settings: Any) -> Iterator[Chain]:
    """A running local NEAR RPC for browser tests: the `chain` fixture (tests/conftest.py:
    `.url`, `.client`, `.account_create()`, `.balance()`, `.transfer()`, the platform
    account `nearlabel.localnet` holding 1000 NEAR) that the live server AND the page use.

    While it runs, settings.NEAR_RPC_URL is its URL (so the live server thread's services,
    and the pages' <meta name="near-rpc-url">, point at it; the settings are process-wide),
    NEAR_IS_LOCALNET is True, the CSP's connect-src allows it (config.csp), and the `page`
    fixture lets the browser reach it, recording each call in `page.watched.chain_requests`
    rather than in `outside_requests`. Function-scoped: each test gets a fresh chain.
    """
    _LIVE_CHAIN_URLS.add(chain.url)
    try:
        yield chain
    finally:
        _LIVE_CHAIN_URLS.discard(chain.url)


def axe_violations(page: Any, *, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """axe-core's violations of at least `impacts` on the page, as readable lines."""
    # Through DevTools, not a <script> tag: the page's CSP refuses inline scripts, and the
    # tests keep that CSP on (a violation is a console error they see).
    page.evaluate(_axe_source())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
