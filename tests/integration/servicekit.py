"""Start the HTTP lookup service as a real process (`userpulse features serve`) for tests."""

from __future__ import annotations

import json
import os
import socket
import ssl
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
        env: more environment variables (e.g. passwords), as a dict.
        tls: the client side of HTTPS (CA, client certificate); None = plain HTTP.
        headers: headers sent with every request (e.g. an API key), health checks included.
        more_env: more environment variables, as keyword arguments.
    """

    def __init__(
        self,
        settings: Settings,
        log: Path,
        env: dict[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
        headers: dict[str, str] | None = None,
        **more_env: str,
    ) -> None:
        self.port = free_port()
        self.base_url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.tls = tls
        self.headers = headers or {}
        self.log = log
        full_env = {
            **os.environ,
            "USERPULSE_HOME": str(settings.home),
            "USERPULSE_REDIS_HOST": settings.redis_host,
            "USERPULSE_REDIS_PORT": str(settings.redis_port),
            "USERPULSE_REDIS_TIMEOUT_S": "2",
            **(env or {}),
            **more_env,
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

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, str]:
        """(status, parsed JSON body or None, raw text) of one request."""
        return self.request_full(method, path, body, headers)[:3]  # type: ignore[return-value]

    def request_full(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, str, dict[str, str]]:
        """(status, parsed JSON body or None, raw text, response headers) of one request."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        for k, v in {**self.headers, **(headers or {})}.items():
            req.add_header(k, v)
        if data is not None:
            req.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.tls) as r:
                status, text, hdrs = r.status, r.read().decode(), dict(r.headers)
        except urllib.error.HTTPError as e:
            status, text, hdrs = e.code, e.read().decode(), dict(e.headers)
        ctype = hdrs.get("content-type") or hdrs.get("Content-Type") or ""
        return status, json.loads(text) if "json" in ctype else None, text, hdrs

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any, str]:
        """GET ``path``."""
        return self.request("GET", path, headers=headers)

    def stop(self) -> None:
        """Terminate the process and wait for it."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
