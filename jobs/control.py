"""Submitting and operating the feature job on a Flink cluster: the Flink CLI + REST API.

- submit: ``<flink>/bin/flink run --detached -py jobs/entry.py`` against the cluster's REST
  endpoint (``settings.rest_url``), optionally from a savepoint or retained checkpoint
  (``--fromSavepoint``), then waits until every task runs, or raises with the root cause when
  the job fails to start (e.g. state that cannot be mapped: case H19).
- list / status / stop / latest checkpoint: Flink's REST API (``/jobs/overview``,
  ``/jobs/:id``, ``/jobs/:id/checkpoints``, ``POST /jobs/:id/stop``; REST API reference of
  Flink 2.2, "REST API" in the Flink docs).

Savepoints and checkpoints are never skipped silently: the CLI is never given
``--allowNonRestoredState``, so Flink refuses a job that cannot map its old state. Times are
seconds (``*_s``); paths are the cluster's URIs (``file:///...`` for the local cluster).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from userpulse.jobs.rest import FlinkRest, JobControlError, job_parallelism
from userpulse.settings import Settings
from userpulse.stack.flink import FlinkCluster, worker_python_path
from userpulse.stack.flink_code import ensure_current_code
from userpulse.stack.flink_conf import flink_home
from userpulse.stack.process import StackError

ENTRY = Path(__file__).resolve().with_name("entry.py")
"""The job's PyFlink entry script, shipped in this package (``userpulse/jobs/entry.py``)."""
JOB_NAME = "userpulse-features"
_JOB_ID = re.compile(r"JobID ([0-9a-f]{32})")
RUNNING_STATES = ("RUNNING", "CREATED", "INITIALIZING", "RESTARTING", "RECONCILING")


def running_vertex_names(settings: Settings, job_id: str) -> list[str]:
    """Names of the job's vertices (operator chains, e.g. ``decode -> h19-extra``)."""
    return [str(v["name"]) for v in FlinkRest(settings.rest_url).job(job_id)["vertices"]]


def wait_running(rest: FlinkRest, job_id: str, timeout_s: float = 180.0) -> dict[str, Any]:
    """Wait until the job is RUNNING with every task RUNNING (or FINISHED).

    Raises:
        JobControlError: the job failed (with its root exception: e.g. "Failed to rollback to
            checkpoint/savepoint ... Cannot map checkpoint/savepoint state ...") or did not
            start within ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    info: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            info = rest.job(job_id)
        except JobControlError:
            time.sleep(0.5)  # the job may not be registered yet
            continue
        state = info["state"]
        if state in ("FAILED", "FAILING", "CANCELED", "CANCELLING"):
            cause = rest.root_exception(job_id)
            raise JobControlError(f"job {job_id} {state} while starting:\n{_cause(cause)}")
        tasks = [v["status"] for v in info["vertices"]]
        if state == "RUNNING" and all(t in ("RUNNING", "FINISHED") for t in tasks):
            return info
        time.sleep(0.5)
    raise JobControlError(f"job {job_id} not running after {timeout_s:.0f} s: {info.get('state')}")


def _cause(stacktrace: str, lines: int = 12) -> str:
    """The informative head of a Java stack trace: exception lines and 'Caused by' lines."""
    keep = [ln for ln in stacktrace.splitlines() if ln and not ln.startswith(("\tat ", "\t..."))]
    return "\n".join(keep[:lines])


def submit(
    settings: Settings,
    parallelism: int | None = None,
    from_path: str | None = None,
    entry: Path = ENTRY,
    job_name: str = JOB_NAME,
    env_overrides: dict[str, str] | None = None,
    timeout_s: float = 180.0,
    entry_args: tuple[str, ...] = (),
) -> str:
    """Submit the feature job (detached) and wait until it runs; returns the job id.

    Args:
        settings: ``rest_url`` of the cluster; the job itself reads its settings from the
            environment of the Flink client (``USERPULSE_*``), which inherits ours.
        parallelism: the job's parallelism (default ``settings.parallelism``).
        from_path: a savepoint or retained checkpoint (folder or ``_metadata`` URI) to restore.
        entry: the Python program (tests pass variants of the job).
        env_overrides: extra ``USERPULSE_*`` (or other) variables for the job's client.
        entry_args: more arguments of the program after ``--job-name``.

    Raises:
        JobControlError: the CLI failed, or the job failed while starting (its root cause), or
            (local cluster) the job's code changed while a job still runs on it.

    On the local session cluster the TaskManagers are restarted first when the job's Python
    sources changed since they started (:mod:`userpulse.stack.flink_code`).
    """
    p = parallelism or settings.parallelism
    conf = settings.home / "flink" / "conf"
    if settings.flink_rest_url is None and conf.is_dir():  # our local session cluster
        try:
            ensure_current_code(FlinkCluster(settings))
        except StackError as e:
            raise JobControlError(str(e)) from e
    host_port = settings.rest_url.split("://", 1)[-1]
    cmd = ["bash", str(flink_home() / "bin" / "flink"), "run", "--detached"]
    cmd += ["-m", host_port, "-p", str(p), "-pyexec", sys.executable]
    cmd += ["-pyclientexec", sys.executable]
    if from_path:
        cmd += ["--fromSavepoint", from_path]
    cmd += ["-py", str(entry), "--job-name", job_name, *entry_args]
    env = dict(os.environ)
    env.update(settings_env(settings))
    env.update(env_overrides or {})
    env["USERPULSE_PARALLELISM"] = str(p)
    env["PYTHONPATH"] = worker_python_path()
    if conf.is_dir():
        env["FLINK_CONF_DIR"] = str(conf)
    env.pop("FLINK_HOME", None)
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    found = _JOB_ID.search(res.stdout + res.stderr)
    if res.returncode != 0 or not found:
        raise JobControlError(
            f"flink run failed ({res.returncode}):\n{_cause(res.stdout + res.stderr, 30)}"
        )
    job_id = found.group(1)
    record_job(settings, job_id, p)
    wait_running(FlinkRest(settings.rest_url), job_id, timeout_s)
    return job_id


def settings_env(settings: Settings) -> dict[str, str]:
    """``USERPULSE_*`` variables that rebuild ``settings`` in the job's client process.

    Every field that differs from its default is passed (flags, the environment and the
    settings file of the submitting command all end up here); the client reads no settings file
    of its own (``USERPULSE_SETTINGS_FILE`` = the null device), so the job runs with exactly the
    submitter's settings. Secrets are passed in the environment of the child only.
    """
    env = {"USERPULSE_SETTINGS_FILE": os.devnull}
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if value is None or value == field.default:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        env[f"USERPULSE_{name.upper()}"] = (
            str(value).lower() if isinstance(value, bool) else str(value)
        )
    return env


def trigger_checkpoint(settings: Settings, job_id: str, timeout_s: float = 120.0) -> int:
    """Take a checkpoint now (``POST /jobs/:id/checkpoints``, Flink >= 1.19); returns its id.

    Raises:
        JobControlError: it failed or timed out.
    """
    rest = FlinkRest(settings.rest_url)
    trigger = rest.post(f"/jobs/{job_id}/checkpoints", {"checkpointType": "FULL"})["request-id"]
    op = _operation(rest, f"/jobs/{job_id}/checkpoints/{trigger}", "checkpointId", timeout_s)
    return int(op["checkpointId"])


def _operation(rest: FlinkRest, path: str, key: str, timeout_s: float) -> dict[str, Any]:
    """Poll an asynchronous REST operation (savepoint, checkpoint) until it completes; returns
    its ``operation`` when that holds ``key``.

    Raises:
        JobControlError: it completed with a failure (Flink's cause) or timed out.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        st = rest.get(path)
        if st["status"]["id"] == "COMPLETED":
            op = dict(st.get("operation") or {})
            if key in op:
                return op
            raise JobControlError(f"{path} failed:\n{_cause(str(op))}")
        time.sleep(0.3)
    raise JobControlError(f"{path} not done after {timeout_s:.0f} s")


def stop_with_savepoint(
    settings: Settings, job_id: str, drain: bool = False, timeout_s: float = 300.0
) -> str:
    """Stop the job with a savepoint (``POST /jobs/:id/stop``); returns the savepoint's URI.

    Without ``drain`` the watermark is not advanced to the end of time, so event-time state
    (tiles inside the windows) is kept for the resumed job.

    Raises:
        JobControlError: the savepoint failed (the job keeps running) or timed out.
    """
    rest = FlinkRest(settings.rest_url)
    target = settings.savepoints.resolve().as_uri() if not settings.flink_rest_url else None
    body: dict[str, Any] = {"drain": drain, "formatType": "CANONICAL"}
    if target:
        body["targetDirectory"] = target
    trigger = rest.post(f"/jobs/{job_id}/stop", body)["request-id"]
    op = _operation(rest, f"/jobs/{job_id}/savepoints/{trigger}", "location", timeout_s)
    _wait_terminal(rest, job_id, 60.0)
    return str(op["location"])


def _wait_terminal(rest: FlinkRest, job_id: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    state = ""
    while time.monotonic() < deadline:
        state = rest.job(job_id)["state"]
        if state in ("FINISHED", "CANCELED", "FAILED"):
            return str(state)
        time.sleep(0.3)
    raise JobControlError(f"job {job_id} still {state} after {timeout_s:.0f} s")


def cancel(settings: Settings, job_id: str) -> None:
    """Cancel without a savepoint (``PATCH /jobs/:id``); the last checkpoint is retained."""
    rest = FlinkRest(settings.rest_url)
    try:
        r = rest._http.patch(f"/jobs/{job_id}", params={"mode": "cancel"})
    except httpx.HTTPError as e:
        raise JobControlError(f"cannot cancel {job_id}: {e}") from e
    if r.status_code >= 400:
        raise JobControlError(f"cannot cancel {job_id}: {r.status_code} {r.text[:300]}")
    _wait_terminal(rest, job_id, 60.0)


def latest_checkpoint(settings: Settings, job_id: str | None = None) -> str:
    """URI of the newest retained checkpoint: of ``job_id`` (asked over REST when the cluster
    still knows the job, else found in the checkpoint folder), or the newest of any job in the
    local checkpoint folder (``<checkpoint_dir>/<job id>/chk-<n>/_metadata``).

    Raises:
        JobControlError: none found.
    """
    if job_id is not None:
        try:
            cps = FlinkRest(settings.rest_url).get(f"/jobs/{job_id}/checkpoints")
            done = (cps.get("latest") or {}).get("completed") or {}
            if done.get("external_path"):
                return str(done["external_path"])
        except JobControlError:
            pass  # cluster restarted / job unknown: look in the folder
    root = (settings.checkpoint_dir or settings.home / "checkpoints").resolve()
    pattern = f"{job_id or '*'}/chk-*/_metadata"
    found = sorted(root.glob(pattern), key=lambda p: p.stat().st_mtime)
    if not found:
        raise JobControlError(
            f"no retained checkpoint under {root} for job {job_id or '(any)'}; "
            "pass a savepoint with --from"
        )
    return found[-1].parent.as_uri()


def the_running_job(settings: Settings, job_id: str | None) -> str:
    """``job_id``, or the only running job named like ours.

    Raises:
        JobControlError: none or several run (name one).
    """
    if job_id:
        return job_id
    running = [j for j in FlinkRest(settings.rest_url).jobs() if j.state in RUNNING_STATES]
    if len(running) != 1:
        names = ", ".join(f"{j.job_id} ({j.name})" for j in running) or "none"
        raise JobControlError(f"{len(running)} running jobs ({names}); pass the job id")
    return running[0].job_id


def _ledger(settings: Settings, name: str = "savepoints") -> Path:
    return settings.home / "flink" / f"{name}.jsonl"


def _append(path: Path, row: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")


def _rows(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [dict(json.loads(line)) for line in lines if line.strip()]


def record_job(settings: Settings, job_id: str, parallelism: int) -> None:
    """Append a submitted job to ``<home>/flink/jobs.jsonl`` (``time_ms`` UTC epoch ms, ``job_id``,
    ``parallelism``): where ``resume --latest-checkpoint`` finds the parallelism of a job the
    cluster no longer knows (after ``cluster kill``)."""
    row = {"time_ms": int(time.time() * 1000), "job_id": job_id, "parallelism": parallelism}
    _append(_ledger(settings, "jobs"), row)


def stopped_parallelism(settings: Settings, location: str) -> int | None:
    """The parallelism of the job that wrote the savepoint or checkpoint ``location`` (URI or
    path): from the savepoint ledger, else the job id in a checkpoint's path
    (``<checkpoints>/<job id>/chk-<n>``) looked up over REST and then in the job ledger; None
    when unknown."""
    for row in reversed(_rows(_ledger(settings))):
        if row.get("location") == location:
            return int(row["parallelism"])
    parts = location.rstrip("/").removesuffix("/_metadata").split("/")
    job_id = parts[-2] if len(parts) >= 2 and parts[-1].startswith("chk-") else ""
    if not re.fullmatch(r"[0-9a-f]{32}", job_id):
        return None
    try:
        return job_parallelism(FlinkRest(settings.rest_url, timeout_s=3.0).job(job_id))
    except (JobControlError, KeyError, ValueError):
        pass  # the cluster no longer knows the job: the ledger does
    for row in reversed(_rows(_ledger(settings, "jobs"))):
        if row.get("job_id") == job_id:
            return int(row["parallelism"])
    return None


def record_savepoint(settings: Settings, job_id: str, parallelism: int, location: str) -> None:
    """Append a savepoint to ``<home>/flink/savepoints.jsonl`` (what ``resume`` uses by default)."""
    row = {"time_ms": int(time.time() * 1000), "job_id": job_id, "parallelism": parallelism}
    row["location"] = location
    _append(_ledger(settings), row)


def last_savepoint(settings: Settings) -> dict[str, Any]:
    """The newest row of the savepoint ledger (``location``, ``job_id``, ``parallelism``).

    Raises:
        JobControlError: no savepoint has been taken through ``userpulse job stop``.
    """
    path = _ledger(settings)
    rows = _rows(path)
    if not rows:
        raise JobControlError(
            f"no savepoint recorded in {path}; pass --from PATH or --latest-checkpoint"
        )
    return rows[-1]
