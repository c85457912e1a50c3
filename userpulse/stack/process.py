"""The managed-process base of the local stack: pid files, detached start, health wait, stop.

Also :class:`StackError` and the small helpers (port probe, live/zombie pid check, log tail)
shared by the services and the topic admin.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from userpulse.errors import UserpulseError
from userpulse.settings import Settings

# Live Popen objects of processes started by this Python process, kept so that they are reaped
# (no zombies) and not reported by ResourceWarning when they outlive the local reference.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class StackError(UserpulseError, RuntimeError):
    """The local stack could not be prepared, started, checked or stopped."""


def _port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when a TCP connection to ``host:port`` succeeds within ``timeout_s`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _pid_alive(pid: int) -> bool:
    """True when ``pid`` is a live (not zombie) process; reaps it if it is our dead child."""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        del _CHILDREN[pid]
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill(0)
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a text file, or '' when it does not exist."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class _ManagedProcess:
    """A detached process identified by a pid file; subclasses say how to start and check it."""

    name = "process"
    marker = ""  # must appear in /proc/<pid>/cmdline, guards against a recycled pid

    def __init__(self, settings: Settings, directory: Path) -> None:
        self.settings = settings
        self.dir = directory
        self.pid_file = directory / f"{self.name}.pid"
        self.output_file = directory / "stdout.log"  # stdout + stderr of the process

    @property
    def log_file(self) -> Path:
        """The file to read when the process misbehaves."""
        raise NotImplementedError

    def pid(self) -> int | None:
        """Pid of our running process, or None (stale pid files are removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if _pid_alive(pid) and self._cmdline_matches(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def is_running(self) -> bool:
        """True when the process we started (pid file) is alive."""
        return self.pid() is not None

    def _cmdline_matches(self, pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            return True  # no /proc: trust the pid file
        return self.marker.encode() in cmdline

    def _diagnostics(self) -> str:
        """Where to look and the last lines of the log (or of stdout when the log is empty)."""
        tail = _tail(self.log_file) or _tail(self.output_file)
        return f"see {self.log_file} (and {self.output_file}):\n{tail}"

    def _spawn(self, argv: list[str], stdout: Path) -> int:
        """Start ``argv`` detached with output appended to ``stdout``; write the pid file."""
        stdout.parent.mkdir(parents=True, exist_ok=True)
        with open(stdout, "ab") as out:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                start_new_session=True,  # survives the shell / Ctrl-C of the starting command
            )
        _CHILDREN[proc.pid] = proc
        self.pid_file.write_text(f"{proc.pid}\n")
        return proc.pid

    def _wait_healthy(self, pid: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not _pid_alive(pid):
                self.pid_file.unlink(missing_ok=True)
                raise StackError(
                    f"{self.name} (pid {pid}) exited during start-up; {self._diagnostics()}"
                )
            if self.healthy():
                return
            time.sleep(0.2)
        self.stop()
        raise StackError(
            f"{self.name} (pid {pid}) not healthy after {timeout_s:.0f} s, stopped it; "
            f"{self._diagnostics()}"
        )

    def healthy(self) -> bool:
        """True when the service answers its health check."""
        raise NotImplementedError

    def stop(self, timeout_s: float = 30.0) -> bool:
        """Stop our process: SIGTERM, wait up to ``timeout_s`` seconds, then SIGKILL.

        Returns:
            True when a process was stopped, False when none of ours was running.
        """
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _pid_alive(pid):
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True
