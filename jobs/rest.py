"""A small client of Flink's REST API (REST API reference of Flink 2.2, "REST API" in the Flink
docs): the jobs a cluster knows, one job's details and root exception. Times are UTC epoch ms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from userpulse.errors import UserpulseError


class JobControlError(UserpulseError, RuntimeError):
    """A job command failed; the message says what happened and what to do."""


@dataclass(frozen=True)
class JobInfo:
    """One job as ``/jobs/overview`` lists it (times: UTC epoch ms)."""

    job_id: str
    name: str
    state: str
    start_time_ms: int
    parallelism: int | None = None


class FlinkRest:
    """A small client of the Flink REST API at ``base_url`` (``http://host:port``).

    Raises:
        JobControlError: the endpoint is unreachable or answers an error.
    """

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s)

    def get(self, path: str) -> Any:
        """GET ``path`` as JSON."""
        return self._call("GET", path)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST a JSON ``body`` to ``path``; returns the JSON reply."""
        return self._call("POST", path, body)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            r = self._http.request(method, path, json=body)
        except httpx.HTTPError as e:
            raise JobControlError(
                f"Flink REST API at {self.base_url} unreachable ({e}); start the local cluster "
                "with `userpulse cluster up` or set USERPULSE_FLINK_REST_URL"
            ) from e
        if r.status_code >= 400:
            raise JobControlError(f"{method} {path} -> {r.status_code}: {r.text[:500]}")
        return r.json()

    def jobs(self) -> list[JobInfo]:
        """All jobs the cluster knows (running and finished), newest first."""
        out = [
            JobInfo(j["jid"], j["name"], j["state"], int(j["start-time"]))
            for j in self.get("/jobs/overview")["jobs"]
        ]
        return sorted(out, key=lambda j: -j.start_time_ms)

    def job(self, job_id: str) -> dict[str, Any]:
        """``/jobs/:id``: state, vertices (with parallelism and task status counts)."""
        return dict(self.get(f"/jobs/{job_id}"))

    def root_exception(self, job_id: str) -> str:
        """The job's root exception (first lines), or '' when it has none."""
        ex = self.get(f"/jobs/{job_id}/exceptions")
        text = str(ex.get("root-exception") or "")
        hist = ex.get("exceptionHistory", {}).get("entries") or []
        if not text and hist:
            text = str(hist[0].get("stacktrace", ""))
        return text


def job_parallelism(info: dict[str, Any]) -> int:
    """The largest operator parallelism of a ``/jobs/:id`` reply."""
    return max(int(v["parallelism"]) for v in info["vertices"])
