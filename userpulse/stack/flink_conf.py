"""The local session cluster's configuration: the Flink distribution inside the installed
``pyflink`` package and the flat ``config.yaml`` entries :class:`userpulse.stack.flink.FlinkCluster`
renders (times in ms where Flink takes ms; sizes as Flink memory strings, e.g. ``1600m``)."""

from __future__ import annotations

import sys
from pathlib import Path

from userpulse.settings import Settings
from userpulse.stack.process import StackError


def flink_home() -> Path:
    """The Flink distribution inside the installed ``pyflink`` package (``bin/flink`` etc.).

    Raises:
        StackError: PyFlink (the ``job`` extra) is not installed.
    """
    try:
        import pyflink
    except ImportError as e:  # pragma: no cover - the CLI checks the extra first
        raise StackError("PyFlink is not installed: pip install 'userpulse[job]'") from e
    return Path(pyflink.__file__).resolve().parent


def cluster_config(s: Settings) -> dict[str, str]:
    """The flat ``config.yaml`` entries of the local session cluster for ``s`` (Flink 2 accepts
    flattened keys; Flink docs, "Configuration"): ports, memory, slots, checkpoint and savepoint
    directories (``file://`` URIs), heartbeats (ms), the Prometheus reporter, JVM options.

    Raises:
        StackError: PyFlink is not installed.
    """
    ckpt = (s.checkpoint_dir or s.home / "checkpoints").resolve()
    default_opts = _default_java_opts(flink_home() / "conf" / "config.yaml")
    conf = {
        "jobmanager.rpc.address": "localhost",
        "jobmanager.rpc.port": str(s.flink_rpc_port),
        "jobmanager.bind-host": "localhost",
        "taskmanager.bind-host": "localhost",
        "taskmanager.host": "localhost",
        "rest.address": "localhost",
        "rest.bind-address": "127.0.0.1",
        "rest.port": str(s.flink_rest_port),
        "jobmanager.memory.process.size": s.flink_jobmanager_memory,
        "taskmanager.memory.process.size": s.flink_taskmanager_memory,
        "taskmanager.memory.managed.fraction": str(s.flink_managed_memory_fraction),
        "taskmanager.numberOfTaskSlots": str(s.flink_slots_per_taskmanager),
        "parallelism.default": "1",
        "jobmanager.execution.failover-strategy": "region",
        # slots are spread evenly over the TaskManagers (Flink docs, "Configuration",
        # taskmanager.load-balance.mode): with spare slots a job of parallelism 2 still gets one
        # subtask per TaskManager, and after a TaskManager dies it restarts at once on the free
        # slots of the others instead of waiting for a new TaskManager (no effect with 1 slot
        # per TaskManager, the default)
        "taskmanager.load-balance.mode": "SLOTS",
        # a killed TaskManager is noticed after 2 failed heartbeat RPCs (2 x 2 s) instead of
        # the default 50 s timeout, so the job restarts on the remaining slots (or the
        # restarted TaskManager) within seconds; 20 s still tolerates a GC pause
        "heartbeat.interval": "2000",
        "heartbeat.timeout": "20000",
        "execution.checkpointing.dir": ckpt.as_uri(),
        "execution.checkpointing.savepoint-dir": s.savepoints.resolve().as_uri(),
        "python.executable": sys.executable,
        "python.client.executable": sys.executable,
        "python.execution-mode": s.python_execution_mode,
        "metrics.reporter.prom.factory.class": (
            "org.apache.flink.metrics.prometheus.PrometheusReporterFactory"
        ),
        "metrics.reporter.prom.port": s.flink_metrics_ports,
        # the web UI's job submission is off: jobs come through `userpulse job submit`
        "web.submit.enable": "false",
        # thread mode embeds CPython through pemja, whose native library can be loaded once
        # per JVM: from the TaskManager's own classpath (flink-python is in our lib/, see
        # write_lib), not from each job's user-code class loader. Otherwise the second job
        # on a TaskManager (a resume, a rescale) fails in pemja.utils.CommonUtils.loadLibrary
        # with NoSuchFieldException: loadedLibraryNames (JDK 17).
        "classloader.parent-first-patterns.additional": "pemja.",
    }
    if default_opts:
        conf["env.java.opts.all"] = default_opts
    if s.flink_taskmanager_java_opts.strip():
        conf["env.java.opts.taskmanager"] = s.flink_taskmanager_java_opts.strip()
    return conf


def _yaml_scalar(v: str) -> str:
    """A config value as a YAML scalar (quoted when YAML would read it as something else)."""
    if v == "" or any(c in v for c in ":#{}[],&*!|>'\"%@`") or v.strip() != v:
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return v


def _default_java_opts(dist_config: Path) -> str:
    """``env.java.opts.all`` of the distribution's config.yaml (the JDK 17 --add-opens flags)."""
    lines = dist_config.read_text().splitlines()
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("all:") and "--add-" in stripped:
            return stripped.split(":", 1)[1].strip()
    return ""
