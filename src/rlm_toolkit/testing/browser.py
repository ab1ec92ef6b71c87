"""Headless Chromium driven over the DevTools protocol on a pipe, for the trace viewer's tests.

No extra packages: Chromium's `--remote-debugging-pipe` reads commands on fd 3 and writes
replies and events on fd 4, each a JSON message ended by a NUL byte. `Browser` starts it,
`Page` loads a URL in a fresh tab and records every network request the tab makes.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) binary, or None when none is installed."""
    for name in CANDIDATES:
        if path := shutil.which(name):
            return path
    return None


class BrowserError(RuntimeError):
    """The browser did not answer in time, or answered a command with an error."""


class Browser:
    """One headless Chromium process; use as a context manager."""

    def __init__(self, binary: str | None = None, timeout_s: float = 30.0,
                 width: int = 1280, height: int = 900) -> None:
        found = binary or find_chromium()
        if found is None:
            raise BrowserError("no chromium found: install Debian's `chromium` package")
        self.binary = found
        self.timeout_s = timeout_s
        self.size = (width, height)
        self._ids = 0
        self._lock = threading.Lock()
        self._replies: dict[int, queue.Queue[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self._event_cv = threading.Condition()
        self._profile = tempfile.TemporaryDirectory(prefix="rlm-chromium-")
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Browser:
        to_r, self._to_w = os.pipe()
        self._from_r, from_w = os.pipe()

        def fds() -> None:  # runs in the child: its fd 3 reads commands, fd 4 writes replies
            a, b = os.dup(to_r), os.dup(from_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        w, h = self.size
        args = [
            self.binary, "--headless", "--no-sandbox", "--disable-gpu",
            "--remote-debugging-pipe", f"--user-data-dir={self._profile.name}",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-default-apps", "--mute-audio", f"--window-size={w},{h}", "about:blank",
        ]
        self._proc = subprocess.Popen(args, pass_fds=(3, 4), preexec_fn=fds,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        proc = self._proc
        if proc is not None:
            with contextlib.suppress(BrowserError, OSError):
                self.send("Browser.close", timeout_s=5)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for fd in (self._to_w, self._from_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._profile.cleanup()

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_r, 1 << 16)
            except OSError:
                return
            if not chunk:
                with self._event_cv:
                    self._event_cv.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._lock:
                        q = self._replies.get(msg["id"])
                    if q is not None:
                        q.put(msg)
                else:
                    with self._event_cv:
                        self.events.append(msg)
                        self._event_cv.notify_all()

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout_s: float | None = None) -> dict[str, Any]:
        """Send one command and wait for its result."""
        with self._lock:
            self._ids += 1
            mid = self._ids
            q: queue.Queue[dict[str, Any]] = queue.Queue()
            self._replies[mid] = q
        msg: dict[str, Any] = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_w, json.dumps(msg).encode() + b"\0")
        try:
            reply = q.get(timeout=timeout_s or self.timeout_s)
        except queue.Empty:
            raise BrowserError(f"chromium did not answer {method} in time") from None
        finally:
            with self._lock:
                self._replies.pop(mid, None)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    def wait_event(self, method: str, session: str | None, after: int = 0,
                   timeout_s: float | None = None) -> dict[str, Any]:
        """The first event `method` of `session` at or after index `after` (waits for it)."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        with self._event_cv:
            while True:
                for ev in self.events[after:]:
                    if ev.get("method") == method and ev.get("sessionId") == session:
                        return ev
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BrowserError(f"chromium sent no {method} in time")
                self._event_cv.wait(left)

    def open(self, url: str) -> Page:
        """A fresh tab that has loaded `url` (its load event fired)."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget",
                            {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        w, h = self.size
        page.send("Emulation.setDeviceMetricsOverride",
                  {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": False})
        page.send("Network.enable")
        page.send("Page.enable")
        page.send("Runtime.enable")
        page.send("Page.setLifecycleEventsEnabled", {"enabled": True})
        mark = len(self.events)
        page.started = time.perf_counter()
        page.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired", session, mark)
        page.loaded = time.perf_counter()
        page.mark = mark
        return page


class Page:
    """One tab: evaluate JS, take screenshots, list the network requests it made."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session
        self.mark = 0
        self.started = 0.0
        self.loaded = 0.0

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, self.session)

    def evaluate(self, expression: str) -> Any:
        """The value of a JS expression (promises awaited); a JS exception raises BrowserError."""
        out = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                             "awaitPromise": True})
        if "exceptionDetails" in out:
            raise BrowserError(f"JS error: {out['exceptionDetails']}")
        return out.get("result", {}).get("value")

    def requests(self) -> list[str]:
        """Every URL this tab asked the network for, the page itself included."""
        with self.browser._event_cv:
            events = list(self.browser.events[self.mark:])
        return [ev["params"]["request"]["url"] for ev in events
                if ev.get("sessionId") == self.session
                and ev.get("method") == "Network.requestWillBeSent"]

    def errors(self) -> list[str]:
        """Uncaught JS exceptions and console errors the page raised."""
        with self.browser._event_cv:
            events = list(self.browser.events[self.mark:])
        out = []
        for ev in events:
            if ev.get("sessionId") != self.session:
                continue
            if ev.get("method") == "Runtime.exceptionThrown":
                out.append(json.dumps(ev["params"].get("exceptionDetails", {}))[:500])
            elif ev.get("method") == "Runtime.consoleAPICalled" \
                    and ev["params"].get("type") == "error":
                out.append(json.dumps(ev["params"].get("args", []))[:500])
        return out

    def lifecycle(self) -> dict[str, float]:
        """Seconds from the navigation's start to each lifecycle event seen so far
        (`DOMContentLoaded`, `load`, `firstPaint`, `firstContentfulPaint`...)."""
        with self.browser._event_cv:
            events = [ev["params"] for ev in self.browser.events[self.mark:]
                      if ev.get("sessionId") == self.session
                      and ev.get("method") == "Page.lifecycleEvent"]
        starts = [e["timestamp"] for e in events if e.get("name") == "init"]
        if not starts:
            return {}
        t0 = starts[-1]
        return {e["name"]: e["timestamp"] - t0 for e in events if e["timestamp"] >= t0}

    def wait_lifecycle(self, name: str, timeout_s: float = 30.0) -> float:
        """Seconds from the navigation's start to lifecycle event `name` (waits for it)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            seen = self.lifecycle()
            if name in seen:
                return seen[name]
            time.sleep(0.01)
        raise BrowserError(f"the page never reached {name}")

    def screenshot(self, path: str | os.PathLike[str], full_page: bool = False) -> None:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            h = self.evaluate("document.documentElement.scrollHeight")
            w = self.browser.size[0]
            params["clip"] = {"x": 0, "y": 0, "width": w, "height": min(int(h), 6000),
                              "scale": 1}
        data = self.send("Page.captureScreenshot", params)["data"]
        Path(path).write_bytes(base64.b64decode(data))
