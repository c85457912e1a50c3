"""A TCP proxy in front of a real server, for outage drills: it forwards, resets every new
connection (RST: a crashed or restarting server), or accepts and never answers (a hung one).

Only loopback addresses; each connection is served by its own daemon threads; ``close`` ends all.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections import Counter


class FaultProxy:
    """Listens on ``127.0.0.1:<port>`` and treats new connections by :attr:`mode`.

    Args:
        upstream_port: the real server's loopback port.

    Attributes:
        mode: ``forward`` | ``reset`` | ``hang`` (for new connections; set it at any time).
        seen: connections accepted per mode.
    """

    def __init__(self, upstream_port: int, mode: str = "forward") -> None:
        self.upstream_port = upstream_port
        self.mode = mode
        self.seen: Counter[str] = Counter()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._held: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            mode = self.mode
            self.seen[mode] += 1
            if mode == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
            elif mode == "hang":
                self._held.append(conn)
            else:
                up = socket.create_connection(("127.0.0.1", self.upstream_port))
                for a, b in ((conn, up), (up, conn)):
                    threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Stop listening and drop the held connections."""
        self._closed = True
        self._server.close()
        for c in self._held:
            c.close()
