"""A headless Chromium driven over the DevTools protocol: clicks, typing, pastes, downloads, screenshots.

The installed ``chromium`` is started with ``--remote-debugging-port=0``; the websocket address it prints is
opened with aiohttp (already a dependency), so the tests need neither chromedriver nor a browser of their own.
Each :class:`Tab` records every URL the page requested, so a test can show the page talks to no other host.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LISTENING = re.compile(rb"DevTools listening on (ws://\S+)")
PATIENCE = 30.0  # seconds anything the page does may take on a busy machine before a test gives up
Event = dict[str, Any]


class BrowserError(Exception):
    """Chromium answered a command with an error, or a script in the page threw."""


@dataclass
class Browser:
    websocket: aiohttp.ClientWebSocketResponse
    downloads: Path
    pending: dict[int, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    listeners: list[Callable[[Event], None]] = field(default_factory=list)
    tabs: list[Tab] = field(default_factory=list)
    next_id: int = 0

    async def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> Any:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        answer = self.pending[self.next_id] = asyncio.get_running_loop().create_future()
        await self.websocket.send_str(json.dumps(message))
        reply = await answer
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def read(self) -> None:
        async for message in self.websocket:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            if "id" in data:
                answer = self.pending.pop(data["id"], None)
                if answer is not None and not answer.done():  # its sender may have given up waiting
                    answer.set_result(data)
            else:
                for listener in list(self.listeners):
                    listener(data)
        for waiting in self.pending.values():
            waiting.cancel()

    def expect(
        self, method: str, match: Callable[[Event], bool] = lambda params: True, session: str | None = None
    ) -> asyncio.Future[Event]:
        """A future for the next event ``method`` (of ``session``, if given) whose params satisfy ``match``.

        Register it before acting, so an event that comes at once is not missed.
        """
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()

        def listener(event: Event) -> None:
            if session is not None and event.get("sessionId") != session:
                return
            if event.get("method") == method and not future.done() and match(event.get("params", {})):
                future.set_result(event["params"])
                self.listeners.remove(listener)

        self.listeners.append(listener)
        return future

    async def tab(self) -> Tab:
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        tab = Tab(self, attached["sessionId"])
        self.tabs.append(tab)
        self.listeners.append(tab.record)
        await tab.send("Page.enable")
        await tab.send("Network.enable")
        await tab.send("Runtime.enable")
        await tab.send("Log.enable")
        return tab

    async def download(self, action: Callable[[], Any]) -> Path:
        """Run ``action`` (a click) and return the file it made the browser download."""
        begun = self.expect("Browser.downloadWillBegin")
        done = self.expect("Browser.downloadProgress", lambda params: params.get("state") == "completed")
        await action()
        async with waiting("a download"):
            name = str((await begun)["suggestedFilename"])
            await done
        return self.downloads / name


@dataclass
class Tab:
    browser: Browser
    session: str
    requested: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def record(self, event: Event) -> None:
        if event.get("sessionId") != self.session:
            return
        params = event.get("params", {})
        if event.get("method") == "Network.requestWillBeSent":
            self.requested.append(params["request"]["url"])
        elif event.get("method") == "Runtime.exceptionThrown":
            self.errors.append(json.dumps(params["exceptionDetails"], ensure_ascii=False)[:2000])
        elif event.get("method") == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append(json.dumps(params.get("args"), ensure_ascii=False)[:2000])
        elif event.get("method") == "Log.entryAdded":
            entry = params["entry"]
            # the browser's own complaints (a refused resource, a CSP violation); an HTTP error status of an
            # answer is the page's business, not an error of the page
            if entry["level"] == "error" and entry.get("source") != "network":
                self.errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")

    async def send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return await self.browser.send(method, params, self.session)

    async def goto(self, url: str) -> None:
        loaded = self.browser.expect("Page.loadEventFired", session=self.session)
        await self.send("Page.navigate", {"url": url})
        async with waiting(f"{url} to load"):
            await loaded

    async def js(self, expression: str) -> Any:
        """The value of ``expression`` in the page (a promise is awaited)."""
        result = await self.send(
            "Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True}
        )
        if "exceptionDetails" in result:
            raise BrowserError(json.dumps(result["exceptionDetails"], ensure_ascii=False)[:2000])
        return result["result"].get("value")

    async def until(self, condition: str) -> None:
        """Wait until the JavaScript ``condition`` holds, checked again on every change of the DOM."""
        async with waiting(condition):
            await self._until(condition)

    async def _until(self, condition: str) -> None:
        await self.js(
            f"""new Promise((resolve) => {{
                const check = () => {{ if ({condition}) {{ observer.disconnect(); resolve(true); }} }};
                const observer = new MutationObserver(check);
                observer.observe(document, {{ subtree: true, childList: true, attributes: true,
                                              characterData: true }});
                check();
            }})"""
        )

    async def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element (scrolled into view first)."""
        box = await self.js(
            f"""(() => {{
                const node = document.querySelector({json.dumps(selector)});
                node.scrollIntoView({{ block: "center" }});
                const r = node.getBoundingClientRect();
                return {{ x: r.left + r.width / 2, y: r.top + r.height / 2 }};
            }})()"""
        )
        for kind in ("mousePressed", "mouseReleased"):
            await self.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": box["x"], "y": box["y"], "button": "left", "clickCount": 1},
            )

    async def focus(self, selector: str) -> None:
        await self.js(f"document.querySelector({json.dumps(selector)}).focus()")

    async def paste(self, text: str) -> None:
        """Text arriving in the focused field as one insertion, as a paste does."""
        await self.send("Input.insertText", {"text": text})

    async def press(self, key: str, code: int, *, ctrl: bool = False) -> None:
        """A key press (``key`` as in KeyboardEvent.key, ``code`` its Windows virtual key code)."""
        base = {"key": key, "windowsVirtualKeyCode": code, "modifiers": 2 if ctrl else 0}
        text = {"text": "\r"} if key == "Enter" else {"text": key} if len(key) == 1 else {}
        await self.send("Input.dispatchKeyEvent", {"type": "keyDown", **base, **text})
        await self.send("Input.dispatchKeyEvent", {"type": "keyUp", **base})

    async def resize(self, width: int, height: int, *, mobile: bool = False) -> None:
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )

    async def screenshot(self, path: Path) -> bytes:
        """The whole page as PNG, written to ``path``."""
        shot = await self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        png = base64.b64decode(shot["data"])
        await asyncio.to_thread(path.write_bytes, png)
        return png


@contextlib.asynccontextmanager
async def waiting(what: str) -> AsyncIterator[None]:
    """Fail with what was awaited, rather than let the test's own timeout end it without a word."""
    try:
        async with asyncio.timeout(PATIENCE):
            yield
    except TimeoutError:
        raise AssertionError(f"waited {PATIENCE:.0f} s for {what}") from None


@contextlib.asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[Browser]:
    """A headless Chromium for one test: its own profile, downloads into ``profile/downloads``."""
    assert CHROMIUM is not None, "CI must install chromium"
    downloads = profile / "downloads"
    downloads.mkdir(parents=True)
    process = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--remote-debugging-port=0", "--remote-allow-origins=*",
        f"--user-data-dir={profile}", "about:blank",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    stderr = process.stderr
    said = b""
    while (found := LISTENING.search(said)) is None:
        line = await stderr.readline()
        assert line, f"chromium exited before it listened: {said.decode(errors='replace')[-2000:]}"
        said += line
    drain = asyncio.create_task(stderr.read())  # chromium keeps logging; a full pipe would stall it
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(found[1].decode(), max_msg_size=0) as websocket,
        ):
            browser = Browser(websocket, downloads)
            reader = asyncio.create_task(browser.read())
            await browser.send(
                "Browser.setDownloadBehavior",
                {"behavior": "allow", "downloadPath": str(downloads), "eventsEnabled": True},
            )
            try:
                yield browser
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
        await drain
