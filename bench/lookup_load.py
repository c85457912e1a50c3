"""The load process of the lookup benchmark (:mod:`bench.lookups`): one scenario, JSON in
(stdin), JSON out (stdout). Settings come from ``USERPULSE_*`` environment variables.

Open loop (``mode: open``): request i is due at ``start + i / rate_per_s``; its latency runs from
when it was due (no coordinated omission). Closed loop (``mode: closed``): one request at a time,
latency from send to answer. Client scenarios use ``lookup.FeatureClient``; HTTP scenarios send
keep-alive HTTP/1.1 requests over ``connections`` connections to ``127.0.0.1:<port>``.

    echo '{"kind": "client", ...}' | python -m bench.lookup_load
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from typing import Any
from urllib.parse import quote

from userpulse.settings import Settings


def _pcts(lat_ms: list[float], wall_s: float, errors: int, shed: int = 0) -> dict[str, Any]:
    lat_ms.sort()
    n = len(lat_ms)

    def p(q: float) -> float | None:
        return round(lat_ms[min(n - 1, int(q * n))], 3) if n else None

    return {
        "requests": n,
        "errors": errors,
        "shed": shed,
        "achieved_rate_per_s": round(n / wall_s, 1) if wall_s > 0 else None,
        "p50_ms": p(0.50),
        "p99_ms": p(0.99),
        "max_ms": round(lat_ms[-1], 3) if n else None,
    }


def _client_load(job: dict[str, Any]) -> dict[str, Any]:
    from userpulse.lookup import FeatureClient

    client = FeatureClient.from_settings(Settings())
    users, k, rate, n = job["users"], job["batch"], job["rate_per_s"], job["requests"]
    rnd = random.Random(1)
    client.get_many(users[:k])  # connect, warm up
    lat: list[float] = []
    errors = 0
    closed = job["mode"] == "closed"
    start = time.perf_counter() + 0.05
    stop_at = start + job["max_wall_s"]
    for i in range(n):
        if time.perf_counter() > stop_at:
            break  # saturated: the rest is not sent (see achieved_rate_per_s)
        due = time.perf_counter() if closed else start + i / rate
        while (now := time.perf_counter()) < due:
            if due - now > 0.0005:
                time.sleep(due - now - 0.0003)
        try:
            if k == 1:
                client.get(rnd.choice(users))
            else:
                client.get_many(rnd.sample(users, k))
        except Exception:
            errors += 1
        lat.append((time.perf_counter() - due) * 1000)
    out = _pcts(lat, time.perf_counter() - start, errors)
    out["premerged"] = client.fast_path.stats()  # users answered by the fast path / left
    return out


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response (Content-Length framed); its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return int(head[9:12])


def _http_requests(job: dict[str, Any]) -> list[bytes]:
    """The raw requests; ``job["headers"]`` (e.g. the API key) go on every one."""
    users, k, n = job["users"], job["batch"], job["requests"]
    extra = "".join(f"{h}: {v}\r\n" for h, v in job.get("headers", {}).items())
    rnd = random.Random(1)
    reqs: list[bytes] = []
    for _ in range(n):
        if k == 1:
            path = f"/v1/users/{quote(rnd.choice(users), safe='')}/features"
            reqs.append(f"GET {path} HTTP/1.1\r\nHost: bench\r\n{extra}\r\n".encode())
        else:
            body = json.dumps({"user_ids": rnd.sample(users, k)}).encode()
            head = (
                f"POST /v1/features/batch HTTP/1.1\r\nHost: bench\r\n{extra}"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            reqs.append(head.encode() + body)
    return reqs


async def _http_load(job: dict[str, Any]) -> dict[str, Any]:
    reqs = _http_requests(job)
    lat: list[float] = []
    errors = shed = 0

    def count(status: int) -> None:
        # 503 is the service shedding a request past its deadline (service_request_deadline_ms):
        # the designed answer to overload, counted apart from errors.
        nonlocal errors, shed
        shed += status == 503
        errors += status not in (200, 503)

    if job["mode"] == "closed":  # one connection, one request at a time
        reader, writer = await asyncio.open_connection("127.0.0.1", job["port"])
        start = time.perf_counter()
        for raw in reqs:
            t = time.perf_counter()
            writer.write(raw)
            count(await _read_response(reader))
            lat.append((time.perf_counter() - t) * 1000)
        writer.close()
        return _pcts(lat, time.perf_counter() - start, errors, shed)
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()

    async def conn() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", job["port"])
        while (item := await queue.get()) is not None:
            due, raw = item
            writer.write(raw)
            count(await _read_response(reader))
            lat.append((time.perf_counter() - due) * 1000)
        writer.close()

    workers = [asyncio.create_task(conn()) for _ in range(job["connections"])]
    await asyncio.sleep(0.2)
    start = time.perf_counter() + 0.05
    rate = job["rate_per_s"]
    stop_at = start + job["max_wall_s"]
    for i, raw in enumerate(reqs):
        if time.perf_counter() > stop_at:
            break  # saturated: the rest is not sent (see achieved_rate_per_s)
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((due, raw))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return _pcts(lat, time.perf_counter() - start, errors, shed)


def _worker() -> None:
    job = json.loads(sys.stdin.read())
    if job["kind"] == "client":
        out = _client_load(job)
    else:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        out = asyncio.run(_http_load(job))
    sys.stdout.write(json.dumps(out))


if __name__ == "__main__":
    _worker()
