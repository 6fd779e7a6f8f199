"""The playground in headless Chromium, for the browser tests: a pytest plugin (``conftest.py``
loads it) with a live server, Debian's chromium driven by Playwright, and the helpers every
browser test uses.

Fixtures: ``url`` (uvicorn serving ``create_app()`` in a thread of pytest's process, once a
module), ``browser`` (chromium, once a module) and ``page`` (a fresh page per test, 1400 x 1000;
its full-page screenshot is kept as ``out/playground/<test name>.png``, and a JavaScript error on
the page fails the test). Without Playwright, uvicorn or chromium they skip the test, saying
which is missing (``.ci/run`` installs them and fails if a browser test is skipped).

Helpers: ``open_page(page, url, hash)``, ``wait(page, condition)``, ``js(page, expression)`` and
``new_run(page, action, condition)``; in the JavaScript they take, ``m`` is ``window.mlplab``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("MLPLAB_CHROMIUM", "/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[1] / "out" / "playground"


@pytest.fixture(scope="module")
def url():
    uvicorn = pytest.importorskip("uvicorn", reason="uvicorn (mlplab[playground]) is needed for the browser tests")
    from mlplab.playground import server

    class Server(uvicorn.Server):
        def install_signal_handlers(self):  # the server runs in a thread of pytest's process
            pass

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    srv = Server(uvicorn.Config(server.create_app(), log_level="warning", ws_ping_interval=None))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    t0 = time.monotonic()
    while not srv.started and time.monotonic() - t0 < 30:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    api = pytest.importorskip("playwright.sync_api", reason="playwright is needed for the browser tests")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need chromium at {CHROMIUM} (apt-get install chromium)")
    with api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTEFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, errors  # no JavaScript error on the page


def open_page(page, url, hash_=""):
    """Open the playground (with a URL hash) and wait for the first frame of its run."""
    page.goto(url + hash_)
    wait(page, "m.header && m.header.rev === m.S.rev")


def wait(page, condition, timeout=60_000):
    page.wait_for_function(f"() => {{ const m = window.mlplab; return {condition}; }}", timeout=timeout)


def js(page, expr):
    return page.evaluate(f"() => {{ const m = window.mlplab; return {expr}; }}")


def new_run(page, action, condition="true"):
    """Do something that starts a new run and wait for its first frame."""
    rev = js(page, "m.S.rev")
    action()
    wait(page, f"m.S.rev > {rev} && m.header.rev === m.S.rev && ({condition})")
