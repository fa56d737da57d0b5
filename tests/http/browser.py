"""A headless Chromium driven over the DevTools protocol (one websocket), for the
status page test. The browser is the system's (Debian's ``chromium``): no PyPI
package ships a Chromium that loads pages (playwright and pyppeteer download
their browsers at run time, kaleido's is a plot exporter without DevTools)."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import tempfile
import threading
from typing import Any

import orjson
import websocket

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_chromium() -> str | None:
    """The first Chromium on PATH, or None."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    """One headless browser process and its DevTools connection."""

    def __init__(self, executable: str, timeout: float = 30.0) -> None:
        self._profile = tempfile.mkdtemp(prefix="mle-chromium-")
        self.process = subprocess.Popen(
            [executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--remote-debugging-port=0",
             "--remote-debugging-address=127.0.0.1", f"--user-data-dir={self._profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.log: list[str] = []
        found = threading.Event()
        self._url = ""

        def read_stderr() -> None:  # the browser says where DevTools listens; keep the rest for failures
            assert self.process.stderr is not None
            for raw in self.process.stderr:
                line = raw.decode(errors="replace").rstrip()
                self.log.append(line)
                if line.startswith("DevTools listening on "):
                    self._url = line.split(" on ", 1)[1]
                    found.set()

        threading.Thread(target=read_stderr, daemon=True).start()
        if not found.wait(timeout):
            self.close()
            raise RuntimeError("Chromium did not start its DevTools endpoint:\n" + "\n".join(self.log[-30:]))
        self._socket = websocket.create_connection(self._url, timeout=timeout, suppress_origin=True)
        self._ids = itertools.count(1)

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events that arrive meanwhile are skipped)."""
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        self._socket.send(orjson.dumps(message).decode())
        while True:
            answer = orjson.loads(self._socket.recv())
            if answer.get("id") == message_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def open(self, url: str) -> Page:
        target = self.call("Target.createTarget", url=url)["targetId"]
        return Page(self, self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"])

    def close(self) -> None:
        if getattr(self, "_socket", None) is not None:
            self._socket.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self._profile, ignore_errors=True)


class Page:
    """One tab."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (an exception fails)."""
        result = self.browser.call("Runtime.evaluate", self.session, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")
