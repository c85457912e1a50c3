"""Later versions of the feature job for the redeploy tests (case H19), run by ``flink run -py``.

- ``--variant extra-step``: one extra stateless step (a JVM pass-through filter with its own uid)
  between decode and keying: the state of the previous version must map onto it.
- ``--variant renamed-tiles``: the keyed features operator under another uid: its state cannot be
  mapped, so Flink must refuse to start the job (never drop the state silently).
- ``--variant throwing-step --hook-dir D --times N --every K``: the fault matrix's test hook
  (issue 12, row 3): a JVM pass-through step (``io.userpulse.flink.chaos.ThrowingStep``, uid
  ``chaos-throw``) between decode and keying that, once ``D/armed`` exists, throws at every K-th
  event, N times in total across restarts.
"""

from __future__ import annotations

import argparse
import sys

from pyflink.datastream import DataStream

from userpulse.jobs.pipeline import build_pipeline, jvm_classes
from userpulse.jobs.runtime import create_env
from userpulse.settings import Settings


def _rename_uid(env: object, old: str, new: str) -> int:
    """Set uid ``new`` on every transformation of ``env`` whose uid is ``old``; returns how many."""
    todo = list(env._j_stream_execution_environment.getTransformations())  # type: ignore[attr-defined]
    seen: set[int] = set()
    n = 0
    while todo:
        t = todo.pop()
        if t.getId() in seen:
            continue
        seen.add(t.getId())
        if t.getUid() == old:
            t.setUid(new)
            n += 1
        todo.extend(t.getInputs())
    return n


def main(argv: list[str]) -> None:
    """Build the chosen variant from the environment's settings and execute it."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--job-name", default="userpulse-features")
    ap.add_argument(
        "--variant", choices=["extra-step", "renamed-tiles", "throwing-step"], required=True
    )
    ap.add_argument("--hook-dir", default="")
    ap.add_argument("--times", type=int, default=0)
    ap.add_argument("--every", type=int, default=1)
    args = ap.parse_args(argv)
    settings = Settings()
    env = create_env(settings, submitted=True)
    if args.variant == "extra-step":
        build_pipeline(
            env,
            settings,
            decoded_step=lambda ds: (
                DataStream(
                    ds._j_data_stream.filter(jvm_classes().operator.FeatureGraph.passThrough())
                )
                .name("h19-extra")
                .uid("h19-extra")
            ),
        )
    elif args.variant == "throwing-step":
        step = jvm_classes().chaos.ThrowingStep(args.hook_dir, args.times, args.every)
        build_pipeline(
            env,
            settings,
            decoded_step=lambda ds: (
                DataStream(ds._j_data_stream.filter(step)).name("chaos-throw").uid("chaos-throw")
            ),
        )
    else:
        build_pipeline(env, settings)
        if _rename_uid(env, "features", "features-v2") != 1:
            raise SystemExit("no operator with uid 'features' found")
    env.execute(args.job_name)


if __name__ == "__main__":
    main(sys.argv[1:])
