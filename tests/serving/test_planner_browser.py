"""The planner page in a real headless chromium, driven over the DevTools protocol against a real server.

A planner signs in through the form, drills down district → street → community (the last step with the
keyboard), reads the numbers (they must match ``GET /segments`` and ``GET /planner/data``, suppressed cells
reading 少于10人 / <10; residents' requests sent through ``POST /requests`` included), exports a table as CSV and
switches to English. The screenshot is kept as
``test-artifacts/planner.png`` (a git-ignored test artefact; ``docs/planner.png`` is a copy for the README).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websocket

from tests.serving.conftest import KEYS, Registry, Server, headers, make_settings, run_server

ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "planner.png"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--remote-debugging-port=0", "--window-size=1280,900"]
pytestmark = pytest.mark.skipif(shutil.which("chromium") is None,
                                reason="chromium is missing: run `bash scripts/install_browser.sh` (as root)")


class Browser:
    """One chromium page over the DevTools protocol (every wait is bounded)."""

    def __init__(self, profile: Path, timeout: float = 20) -> None:
        self.timeout = timeout
        self.process = subprocess.Popen(["chromium", *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)  # its helpers share the group: closed together
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        pages = [t for t in httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=5).json() if t["type"] == "page"]
        self.socket = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=timeout,
                                                  suppress_origin=True)
        self.calls = 0
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events in between are skipped)."""
        self.calls += 1
        self.socket.send(json.dumps({"id": self.calls, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.calls:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def run(self, expression: str) -> Any:
        """Evaluate JavaScript in the page (promises awaited) and return its JSON value."""
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait(self, expression: str) -> Any:
        """Poll ``expression`` until it is truthy."""
        deadline = time.monotonic() + self.timeout
        while not (value := self._poll(expression)):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {expression}; page text: "
                                     f"{self.run('document.body ? document.body.innerText : null')!r:.2000}")
            time.sleep(0.05)
        return value

    def _poll(self, expression: str) -> Any:
        try:
            return self.run(expression)
        except RuntimeError:  # the page is navigating: its context is gone until the next one loads
            return None

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        self.wait("document.readyState === 'complete'")

    def press(self, key: str, code: int) -> None:
        """A real key press (keyDown + keyUp) to the focused element."""
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key=key, code=key, windowsVirtualKeyCode=code,
                      nativeVirtualKeyCode=code, text="\r" if kind == "keyDown" else "")

    def screenshot(self, path: Path) -> None:
        height = int(self.run("document.documentElement.scrollHeight"))
        self.call("Emulation.setDeviceMetricsOverride", width=1280, height=min(height, 4000), deviceScaleFactor=1,
                  mobile=False)
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        """Stop chromium and its helper processes (they write into the profile until they exit)."""
        self.socket.close()
        group = os.getpgid(self.process.pid)
        os.killpg(group, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)  # a helper is still alive
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.killpg(group, signal.SIGKILL)


@pytest.fixture(scope="module")
def server(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with run_server(make_settings(registry, tmp_path_factory.mktemp("planner-server"))) as running:
        yield running


@pytest.fixture
def browser() -> Iterator[Browser]:
    with tempfile.TemporaryDirectory(prefix="linli-chromium-") as profile:
        page = Browser(Path(profile))
        try:
            yield page
        finally:
            page.close()


def _api(server: Server, path: str, **params: str) -> dict[str, Any]:
    response = httpx.get(server.url + path, params=params, headers=headers("planner"), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _community_with_hidden_persona(server: Server) -> dict[str, Any]:
    communities = _api(server, "/segments", level="community")["data"]
    return next(c for c in communities if c["residents"] != "<10" and "<10" in c["personas"].values())


def _cells(browser: Browser, table: str) -> dict[str, dict[str, str]]:
    return browser.run(f"""Object.fromEntries([...document.querySelectorAll('#{table} tbody tr')].map(tr =>
        [tr.dataset.row, Object.fromEntries([...tr.children].map(c => [c.dataset.col, c.textContent]))]))""")


def _ask(server: Server, community: str, text: str, times: int) -> None:
    """``times`` residents' requests (POST /requests) from ``community``."""
    for _ in range(times):
        response = httpx.post(server.url + "/requests", json={"text": text, "community_id": community},
                              headers=headers("platform"), timeout=30)
        assert response.status_code == 200, response.text


def test_a_planner_drills_down_reads_the_numbers_and_switches_language(server: Server, browser: Browser) -> None:
    community = _community_with_hidden_persona(server)
    street = _api(server, "/segments", level="street", id=community["parent_id"])["data"][0]
    district = street["parent_id"]
    _ask(server, community["id"], "家里水管漏水了能不能上门修", 12)  # shown: 12 ≥ k
    _ask(server, community["id"], "想找个零工干干", 3)  # hidden: 3 < k
    data = _api(server, "/planner/data", level="community", id=community["id"])

    browser.open(server.url + "/planner")  # no session yet: the sign-in form
    browser.run(f"document.getElementById('key').value = {json.dumps(KEYS['planner'])}; "
                "document.querySelector('form').requestSubmit()")
    browser.wait("document.body.dataset.ready === 'root'")
    assert browser.run("document.cookie") == ""  # HttpOnly: scripts cannot read the session

    browser.run(f"document.querySelector('button.drill[data-id=\"{district}\"]').click()")
    browser.wait(f"document.body.dataset.ready === '{district}'")
    browser.run(f"document.querySelector('button.drill[data-id=\"{street['id']}\"]').click()")
    browser.wait(f"document.body.dataset.ready === '{district}/{street['id']}'")
    browser.run(f"document.querySelector('button.drill[data-id=\"{community['id']}\"]').focus()")
    browser.press("Enter", 13)  # keyboard, not a mouse
    path = f"{district}/{street['id']}/{community['id']}"
    browser.wait(f"document.body.dataset.ready === '{path}'")

    crumbs = browser.run("document.getElementById('breadcrumb').innerText")
    assert community["name"] in crumbs and street["name"] in crumbs and "全部区" in crumbs
    composition = _cells(browser, "composition-table")
    assert set(composition) == set(community["personas"]), browser.run("document.body.innerText")
    for persona, count in community["personas"].items():
        assert composition[persona]["count"] == ("少于10人" if count == "<10" else str(count)), persona
    usage = _cells(browser, "usage-table")
    for row in (r for r in data["usage"] if r["persona"] == "all"):
        assert usage[row["category"]]["users"] == ("少于10人" if row["users"] == "<10" else str(row["users"]))
    asked = _cells(browser, "requests-table")
    for row in (r for r in data["requests"] if r["persona"] == "all"):
        assert asked[row["category"]]["requests"] == ("少于10人" if row["requests"] == "<10" else str(row["requests"]))
    assert "12" in {cells["requests"] for cells in asked.values()}
    assert "居民诉求" in browser.run("document.body.innerText")
    compare = _cells(browser, "compare-table")
    assert set(compare) == set(community["personas"])
    assert "学习得到的居民分群" in browser.run("document.body.innerText")
    browser.screenshot(ARTIFACT)

    browser.run("""window.__csv = null; const make = URL.createObjectURL;
        URL.createObjectURL = (blob) => { window.__csv = blob; return make.call(URL, blob); };
        document.querySelector('button[data-table="composition-table"]').click()""")
    csv = browser.wait("window.__csv && window.__csv.text()").lstrip("\ufeff").splitlines()
    assert csv[0].startswith("人群,人数,占比")
    assert len(csv) == 1 + len(community["personas"]) and any(",<10," in line for line in csv[1:])

    browser.run("document.getElementById('lang-toggle').click()")
    browser.wait("document.documentElement.lang === 'en'")
    assert browser.run("document.getElementById('composition-h').textContent") == "Persona composition"
    assert browser.run("document.getElementById('requests-h').textContent").startswith("Residents' requests")
    hidden = next(p for p, v in community["personas"].items() if v == "<10")
    assert _cells(browser, "composition-table")[hidden]["count"] == "<10"


def test_the_page_asks_for_a_key_and_refuses_a_platform_key(server: Server, browser: Browser) -> None:
    browser.open(server.url + "/planner")
    assert browser.run("document.getElementById('key') !== null")
    browser.run(f"document.getElementById('key').value = {json.dumps(KEYS['platform'])}; "
                "document.querySelector('form').requestSubmit()")
    browser.wait("document.querySelector('.message') && document.querySelector('.message').textContent.length > 0")
    assert "无权" in browser.run("document.querySelector('.message').textContent")
