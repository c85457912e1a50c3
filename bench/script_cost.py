"""Redis's cost of the job's write script, in instructions: a trace of real calls, replayed under
Valgrind's callgrind, so script variants compare on a noisy, shared machine.

Wall-clock and CPU-time figures of ``redis-server`` move by 1.5x between identical runs here
(docs/bench.md); the instructions a replay executes do not (the same trace, the same script and
an empty server gave 191,156 and 191,701 instructions per call in two replays, 0.3 % apart,
on 2026-12-02). Two steps:

1. ``capture``: record the ``EVALSHA`` calls a writer sends to a Redis (its ``MONITOR`` stream)
   into a JSON-lines trace, e.g. while ``FeatureFunctionBenchmark`` (jvm/src/test) runs against
   it. ``MONITOR`` slows the server down several times; the calls are the writer's all the same.
   It lags behind a fast writer, and calls still queued when the time is up are not recorded:
   capture for longer than the writer runs.
2. ``replay``: for each script (default: the job's ``write_v1.lua``), start a ``redis-server``
   of its own under ``valgrind --tool=callgrind`` on an empty dataset, load the script, zero the
   counters, send the trace's calls in order (pipelines of 300), and read the instructions
   (``Ir``) per call and the inclusive share of a few functions of Redis and its Lua
   (``callgrind_annotate``). A variant must take the same keys and arguments as the traced
   script; the printed ``state`` digest (of every key's value after the replay) must then equal
   the original's, or the variant writes something else.

    .venv/bin/python -m bench.script_cost capture --port 6399 --seconds 30 --out /tmp/trace.jsonl
    .venv/bin/python -m bench.script_cost replay --trace T.jsonl [--calls N] [--batch N] [A.lua]

Needs ``valgrind`` (Debian package ``valgrind``) for ``replay``; a replay of 60,000 calls takes
1-3 minutes per script here. Variants to compare: ``bench/script_variants/`` (docs/bench.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import redis

WRITE_SCRIPT = (
    Path(__file__).resolve().parent.parent
    / "jvm/src/main/resources/io/userpulse/flink/redis/write_v1.lua"
)
"""The job's write script (layout v1), the default script to replay."""

FUNCTIONS = (
    "luaCallFunction",
    "lua_pcall",
    "lua_pushlstring",
    "parseReply",
    "scriptCall",
    "strtod",
    "processMultibulkBuffer",
)
"""Functions whose inclusive share ``replay`` reports: the script's call as a whole, its Lua
body, Lua's string creation (interning hashes every byte of a string), the conversion of inner
commands' replies to Lua values, the inner commands, ``tonumber``, and the request parser."""

_ANNOTATE_LINE = re.compile(r"^\s*[\d,]+\s+\(\s*([\d.]+)%\)\s+(\S+)")
"""A function's line of ``callgrind_annotate``: ``  644,025,912 ( 5.59%)  file:function [obj]``."""
_ESCAPES = {"n": 10, "r": 13, "t": 9, "a": 7, "b": 8, '"': 34, "\\": 92}


class TraceError(ValueError):
    """A ``MONITOR`` line or a trace line that does not parse (the message quotes it)."""


def parse_monitor_line(line: str) -> list[bytes]:
    """The arguments of one ``MONITOR`` line (``<time> [<db> <client>] "CMD" "arg" ...``), as
    bytes, with Redis's escapes (``sdscatrepr``: ``\\n \\r \\t \\a \\b \\" \\\\`` and ``\\xHH``)
    undone. Raises :class:`TraceError` for a line without a quoted command."""
    start = line.find('] "')
    if start < 0:
        raise TraceError(f"not a MONITOR command line: {line[:80]!r}")
    out: list[bytes] = []
    i, n = start + 2, len(line)
    while i < n:
        if line[i] != '"':
            i += 1
            continue
        buf = bytearray()
        i += 1
        while i < n and line[i] != '"':
            c = line[i]
            if c == "\\" and i + 1 < n:
                e = line[i + 1]
                if e == "x" and i + 3 < n:
                    buf.append(int(line[i + 2 : i + 4], 16))
                    i += 4
                    continue
                if e in _ESCAPES:
                    buf.append(_ESCAPES[e])
                    i += 2
                    continue
            buf.extend(c.encode("latin-1"))
            i += 1
        if i >= n:
            raise TraceError(f"unterminated argument in: {line[:80]!r}")
        out.append(bytes(buf))
        i += 1
    return out


def capture(port: int, seconds: float, out: Path, host: str = "127.0.0.1") -> int:
    """Write the ``EVALSHA`` calls seen on ``host:port`` for ``seconds`` s to ``out`` (JSON
    lines: ``numkeys`` and the keys and arguments as latin-1 strings, without the SHA1); returns
    their number. Raises ``OSError`` when the server cannot be reached."""
    n = 0
    with socket.create_connection((host, port), timeout=5) as s, out.open("w") as f:
        s.sendall(b"MONITOR\r\n")
        s.settimeout(0.5)
        end = time.monotonic() + seconds
        pending = b""
        while time.monotonic() < end:
            try:
                chunk = s.recv(1 << 20)
            except TimeoutError:
                continue
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\r\n")
            for raw in lines:
                line = raw.decode("latin-1")
                if '"EVALSHA"' not in line[:80].upper():
                    continue
                args = parse_monitor_line(line)
                f.write(json.dumps([a.decode("latin-1") for a in args[2:]]) + "\n")
                n += 1
    return n


def read_trace(path: Path, limit: int | None = None) -> Iterator[list[bytes]]:
    """The calls of a trace written by :func:`capture` (``numkeys``, keys, arguments as bytes),
    at most ``limit``. Raises :class:`TraceError` for a line that is not a JSON list."""
    with path.open() as f:
        for i, line in enumerate(f):
            if limit is not None and i >= limit:
                return
            call = json.loads(line)
            if not isinstance(call, list) or not call:
                raise TraceError(f"{path}:{i + 1}: not a JSON list of arguments")
            yield [str(a).encode("latin-1") for a in call]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _state_digest(r: redis.Redis) -> str:
    """SHA-256 over every key and its value (hash fields sorted), in key order."""
    h = hashlib.sha256()
    for key in sorted(r.scan_iter(count=1000)):
        h.update(key)
        if r.type(key) == b"hash":
            for field, value in sorted(r.hgetall(key).items()):
                h.update(field + b"=" + value)
        else:
            h.update(r.get(key) or b"")
    return h.hexdigest()[:16]


def _control(pid: int, flag: str) -> None:
    subprocess.run(["callgrind_control", flag, str(pid)], check=True, capture_output=True)


def _inclusive(out_file: Path) -> dict[str, float]:
    text = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(out_file)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return annotate_shares(text)


def annotate_shares(text: str) -> dict[str, float]:
    """The inclusive share (% of all instructions) of each of :data:`FUNCTIONS` found in
    ``callgrind_annotate --inclusive=yes`` output ``text`` (the largest of its lines, recursive
    calls included)."""
    shares: dict[str, float] = {}
    for line in text.splitlines():
        m = _ANNOTATE_LINE.match(line)
        if m is None:
            continue
        name = m.group(2).split(":", 1)[-1].split("'")[0]
        if name in FUNCTIONS:  # a recursive call (``name'2``) counts inside the outer one
            shares[name] = max(shares.get(name, 0.0), float(m.group(1)))
    return shares


def batch_calls(calls: Iterable[list[bytes]], size: int) -> Iterator[tuple[list[bytes], int]]:
    """The traced ``calls`` (``numkeys``, keys, arguments) merged ``size`` at a time into one
    call each, as ``(numkeys, keys, arguments)`` and the number of traced calls in it: the keys
    of every call in order, then per call its argument count and its arguments (the shape
    ``bench/script_variants/batched.lua`` reads). ``size`` 1 yields the calls as they are.
    Raises ``ValueError`` for ``size`` < 1."""
    if size < 1:
        raise ValueError(f"batch size must be >= 1, got {size}")
    group: list[list[bytes]] = []
    for call in calls:
        if size == 1:
            yield call, 1
            continue
        group.append(call)
        if len(group) == size:
            yield _merge(group), size
            group = []
    if group:
        yield _merge(group), len(group)


def _merge(group: list[list[bytes]]) -> list[bytes]:
    keys: list[bytes] = []
    args: list[bytes] = []
    for call in group:
        nk = int(call[0])
        keys += call[1 : 1 + nk]
        argv = call[1 + nk :]
        args += [str(len(argv)).encode(), *argv]
    return [str(len(keys)).encode(), *keys, *args]


def replay(
    script: Path, trace: Path, calls: int | None = None, batch: int = 1
) -> dict[str, object]:
    """Replay ``trace`` (at most ``calls`` calls; ``batch`` of them per script call, see
    :func:`batch_calls`) against a fresh ``redis-server`` under callgrind with ``script``;
    returns ``{"script", "calls", "script_calls", "ir_per_call" (per traced call), "share_pct":
    {function: % of all instructions, inclusive}, "state"}``. Raises ``RuntimeError`` when
    valgrind or the server is missing or the server does not answer within 60 s, and
    ``redis.ResponseError`` when the script fails on a call."""
    for tool in ("valgrind", "redis-server", "callgrind_annotate", "callgrind_control"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} not found: apt-get install -y valgrind redis-server")
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "redis-server"]
            + ["--port", str(port), "--save", "", "--appendonly", "no", "--dir", tmp],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            r = redis.Redis(port=port)
            deadline = time.monotonic() + 60
            while True:
                try:
                    r.ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("redis-server under valgrind did not start") from None
                    time.sleep(0.2)
            sha = r.script_load(script.read_text())
            _control(proc.pid, "-z")  # zero: count only the replay
            n = sent = 0
            pipe = r.pipeline(transaction=False)
            for call, traced in batch_calls(read_trace(trace, calls), batch):
                pipe.execute_command("EVALSHA", sha, *call)
                sent += 1
                n += traced
                if sent % max(1, 300 // batch) == 0:
                    pipe.execute()
            pipe.execute()
            _control(proc.pid, "-d")  # dump
            state = _state_digest(r)
            dump = min(Path(tmp).glob("callgrind.out.*"))
            ir = next(int(line.split()[1]) for line in dump.open() if line.startswith("summary:"))
            return {
                "script": str(script),
                "calls": n,
                "script_calls": sent,
                "ir_per_call": round(ir / max(n, 1)),
                "share_pct": _inclusive(dump),
                "state": state,
            }
        finally:
            proc.terminate()
            proc.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    """Entry point (``capture`` or ``replay``, see the module's docstring); returns the exit
    code (2 for a bad argument or a missing tool)."""
    ap = argparse.ArgumentParser(description="the write script's cost in instructions")
    sub = ap.add_subparsers(dest="cmd", required=True)
    cap = sub.add_parser("capture", help="record a writer's EVALSHA calls (MONITOR)")
    cap.add_argument("--port", type=int, required=True)
    cap.add_argument("--host", default="127.0.0.1")
    cap.add_argument("--seconds", type=float, default=30.0)
    cap.add_argument("--out", type=Path, required=True)
    rep = sub.add_parser("replay", help="replay a trace under callgrind, per script")
    rep.add_argument("--trace", type=Path, required=True)
    rep.add_argument("--calls", type=int, default=None, help="first N calls (default: all)")
    rep.add_argument(
        "--batch", type=int, default=1, help="traced calls per script call (batched.lua)"
    )
    rep.add_argument("scripts", nargs="*", type=Path, help=f"default: {WRITE_SCRIPT.name}")
    args = ap.parse_args(argv)
    if args.cmd == "capture":
        n = capture(args.port, args.seconds, args.out, args.host)
        print(f"{n} EVALSHA calls -> {args.out}")
        return 0 if n else 1
    if args.batch < 1:
        print(f"error: --batch must be >= 1, got {args.batch}", file=sys.stderr)
        return 2
    scripts = args.scripts or [WRITE_SCRIPT]
    for s in [args.trace, *scripts]:
        if not s.is_file():
            print(f"error: no such file: {s}", file=sys.stderr)
            return 2
    try:
        for s in scripts:
            print(json.dumps(replay(s, args.trace, args.calls, args.batch)), flush=True)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
