"""Start the HTTP lookup service as a real process (`userpulse features serve`) for tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from userpulse.settings import Settings


def free_port() -> int:
    """A loopback TCP port that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """`python -m userpulse features serve` on a free port, settings passed by environment.

    Args:
        settings: Redis host/port and home (password files) of the stack.
        log: file that receives the service's stdout and stderr.
        env: more environment variables (e.g. a password).
    """

    def __init__(self, settings: Settings, log: Path, **env: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log
        full_env = {
            **os.environ,
            "USERPULSE_HOME": str(settings.home),
            "USERPULSE_REDIS_HOST": settings.redis_host,
            "USERPULSE_REDIS_PORT": str(settings.redis_port),
            "USERPULSE_REDIS_TIMEOUT_S": "2",
            **env,
        }
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "userpulse", "features", "serve", "--port", str(self.port)],
                env=full_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.get("/healthz")
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"service did not start: {log.read_text()[-2000:]}"
                    ) from None
                time.sleep(0.1)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any, str]:
        """(status, parsed JSON body or None, raw text) of one request."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            req.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, text, ctype = r.status, r.read().decode(), r.headers["content-type"]
        except urllib.error.HTTPError as e:
            status, text, ctype = e.code, e.read().decode(), e.headers["content-type"]
        return status, json.loads(text) if "json" in (ctype or "") else None, text

    def get(self, path: str) -> tuple[int, Any, str]:
        """GET ``path``."""
        return self.request("GET", path)

    def stop(self) -> None:
        """Terminate the process and wait for it."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
