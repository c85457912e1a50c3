"""Creating the PyFlink execution environment for the project's Python and jars."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pyflink.common import Configuration
from pyflink.datastream import StreamExecutionEnvironment

from userpulse.errors import UserpulseError
from userpulse.pythonpath import worker_python_path
from userpulse.settings import Settings


class JobConfigError(UserpulseError):
    """The job cannot start with these settings (message says what to change)."""


def connector_jars(settings: Settings) -> list[Path]:
    """The Flink connector jars resolved by ``infra/pom.xml`` into ``<infra_lib>/flink``.

    Raises:
        JobConfigError: none found (run ``make deps``).
    """
    jars = sorted((settings.infra_lib / "flink").glob("*.jar"))
    if not jars:
        raise JobConfigError(
            f"no connector jar in {settings.infra_lib / 'flink'}; run `make deps` "
            "(mvn -f infra/pom.xml package) or set USERPULSE_INFRA_LIB"
        )
    return jars


def python_path() -> str:
    """PYTHONPATH for the embedded (thread-mode) interpreter: :func:`worker_python_path` (where
    ``userpulse`` is imported from + this venv's site-packages), then any PYTHONPATH already set.

    PyFlink's thread mode embeds CPython in the JVM (pemja); that interpreter does not know the
    virtual environment, so its site-packages are passed explicitly.
    """
    parts = [worker_python_path()]
    old = os.environ.get("PYTHONPATH")
    if old:
        parts.append(old)
    return os.pathsep.join(parts)


def create_env(settings: Settings, submitted: bool = False) -> StreamExecutionEnvironment:
    """A StreamExecutionEnvironment configured for the feature job.

    Sets the Python execution mode and interpreter (for Python functions; the feature job has
    none), latency knobs (buffer timeout ``settings.buffer_timeout_ms``, auto-watermark interval
    100 ms: design section 10),
    object reuse, checkpointing (retained on cancel),
    parallelism and max parallelism (``settings.max_parallelism``: fixed for the life of the
    job's state, so every rescale can restore) and the connector jars. Must run before the JVM
    starts (first PyFlink call of the process).

    Args:
        settings: the job's settings.
        submitted: the program runs under ``flink run`` / an application cluster (the context
            environment of a real cluster): the cluster's checkpoint storage applies unless
            ``settings.checkpoint_dir`` is set, and no local REST port is chosen. False: PyFlink's
            local execution (a mini cluster in this process).
    """
    os.environ["PYTHONPATH"] = python_path()
    conf = Configuration()
    conf.set_string("python.execution-mode", settings.python_execution_mode)
    conf.set_string("python.executable", sys.executable)
    conf.set_string("python.client.executable", sys.executable)
    conf.set_string("execution.buffer-timeout.interval", f"{settings.buffer_timeout_ms} ms")
    conf.set_string("pipeline.auto-watermark-interval", "100 ms")
    conf.set_string("execution.checkpointing.interval", f"{settings.checkpoint_interval_ms} ms")
    conf.set_string(
        "execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION"
    )
    ckpt = settings.checkpoint_dir or (None if submitted else settings.home / "checkpoints")
    if ckpt is not None:
        conf.set_string("execution.checkpointing.dir", ckpt.resolve().as_uri())
    conf.set_string("execution.checkpointing.checkpoints-after-tasks-finish", "true")
    set_restart_strategy(conf, settings)
    if not submitted:
        conf.set_string("rest.bind-port", "0")
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.set_parallelism(settings.parallelism)
    env.set_buffer_timeout(settings.buffer_timeout_ms)
    env.set_max_parallelism(settings.max_parallelism)
    # chained operators hand records on without a defensive copy (every step of the job is a
    # JVM function that keeps no reference to its input record)
    env.get_config().enable_object_reuse()
    env.add_jars(*(j.resolve().as_uri() for j in connector_jars(settings)))
    return env


def set_restart_strategy(conf: Configuration, settings: Settings) -> None:
    """Flink's exponential-delay restart strategy (Flink docs, "Task Failure Recovery").

    The first restart after 1 s (or ``settings.restart_max_backoff_ms`` when smaller), each
    next one twice as late up to ``restart_max_backoff_ms``, back to 1 s after 10 min without a
    failure; ``settings.restart_attempts`` restarts in a row before the job fails for good
    (0 = never: a job that failed for good stays down until someone resubmits it, so transient
    faults must not get it there; a crash loop shows in the restarts alert instead)."""
    attempts = settings.restart_attempts or 2_147_483_647  # Integer.MAX_VALUE: unlimited
    conf.set_string("restart-strategy.type", "exponential-delay")
    initial_ms = min(1_000, settings.restart_max_backoff_ms)
    conf.set_string("restart-strategy.exponential-delay.initial-backoff", f"{initial_ms} ms")
    conf.set_string(
        "restart-strategy.exponential-delay.max-backoff", f"{settings.restart_max_backoff_ms} ms"
    )
    conf.set_string("restart-strategy.exponential-delay.backoff-multiplier", "2.0")
    conf.set_string("restart-strategy.exponential-delay.reset-backoff-threshold", "10 min")
    conf.set_string("restart-strategy.exponential-delay.jitter-factor", "0.1")
    conf.set_string(
        "restart-strategy.exponential-delay.attempts-before-reset-backoff", str(attempts)
    )
