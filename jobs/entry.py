"""Entry point of the feature job on a Flink cluster (``flink run -py jobs/entry.py``).

``userpulse job submit`` runs it through the Flink CLI against a session cluster; the Flink
Kubernetes Operator runs it through ``org.apache.flink.client.python.PythonDriver``
(``-py /opt/userpulse/jobs/entry.py``, see infra/k8s/). Settings come from ``USERPULSE_*``
environment variables or ``userpulse.env`` (userpulse/settings.py), like every other command;
the job runs unbounded until stopped (with a savepoint: ``userpulse job stop``).

Optional argument ``--job-name NAME`` (default ``userpulse-features``).
"""

from __future__ import annotations

import argparse
import sys

from userpulse.jobs.pipeline import build_pipeline
from userpulse.jobs.runtime import create_env
from userpulse.settings import Settings

JOB_NAME = "userpulse-features"


def main(argv: list[str] | None = None) -> None:
    """Build the feature job from the environment's settings and execute it on the cluster."""
    parser = argparse.ArgumentParser(prog="jobs/entry.py")
    parser.add_argument("--job-name", default=JOB_NAME)
    args = parser.parse_args(argv)
    settings = Settings()
    env = create_env(settings, submitted=True)
    build_pipeline(env, settings, bounded=False)
    env.execute(args.job_name)


if __name__ == "__main__":
    main(sys.argv[1:])
