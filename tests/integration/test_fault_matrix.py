"""The fault matrix of issue 12 as tests: one job on a local session cluster, fed a synthetic
stream, takes the faults of :data:`tests.integration.chaos_rows.ROWS` one after another; after
each, every feature of every user equals the reference (lost = 0, double counted = 0,
counted + late + dead-lettered = input), plus each row's own checks (recovery times).

- ``make test``: the short forms of rows 1, 2, 3, 4c (broker SIGSTOP), 5a, 5b and 8 (one drill,
  faults scaled to a quarter, recovery times recorded but not limited) and the controls: the
  same checks fail when the repair is switched off (resume without the checkpoint, at the end
  of the drill; the restart strategy limited to 3 attempts; the TaskManager not restarted,
  inside row 2).
- ``make chaos`` (``USERPULSE_CHAOS=long``): the long forms with the recovery-time limits, the
  broker stop / kill -9 rows (each a broker JVM start), the 120 s and ``CLIENT PAUSE WRITE``
  Redis rows, three cluster kills, the store out of memory and hung behind the HTTP service
  (rows 7b, 7e), the controls of rows 6a / 6b (the rewrite rule off), and the 20 min soak
  (row 9); prints the table and writes ``bench/out/chaos-<form>.json``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from tests import REPO_ROOT
from tests.integration.chaos_rows import ROWS, Row, soak, throw_in_job
from tests.integration.chaos_traffic import LONG, SHORT, Form
from tests.integration.chaoskit import Drill, Figures, report
from tests.integration.flinkkit import cluster_settings, session_cluster
from userpulse.settings import Settings

pytestmark = pytest.mark.integration

LONG_RUN = os.environ.get("USERPULSE_CHAOS") == "long"
# a subset of the matrix while working on a row: USERPULSE_CHAOS_ROWS=6a,6b (the short drill
# then skips its control)
ONLY = [r for r in os.environ.get("USERPULSE_CHAOS_ROWS", "").split(",") if r]


def _rows(long: bool) -> list[Row]:
    """The rows a drill of the form runs (all, or those of ``USERPULSE_CHAOS_ROWS``)."""
    return [r for r in ROWS if (long or not r.long_only) and (not ONLY or r.id in ONLY)]


OUT = REPO_ROOT / "bench" / "out"


@pytest.fixture(scope="module")
def flink(stack: Settings) -> Iterator[Settings]:
    """The drills' session cluster: 2 TaskManagers x 2 slots, spread evenly (the job of
    parallelism 2 gets one subtask per TaskManager), so after a TaskManager kill (row 2) the
    job restarts at once on the spare slot of the other while ``cluster up`` restarts the
    killed one (faster than a third TaskManager of 1 slot, and one JVM fewer: docs/operations.md,
    "The fault matrix")."""
    yield from session_cluster(cluster_settings(stack, slots=2, taskmanagers=2))


@pytest.fixture
def drill(flink: Settings, request: pytest.FixtureRequest) -> Iterator[Drill]:
    """A started :class:`Drill` of the form the test names (``form`` marker arg, default SHORT);
    its table is printed and written as JSON afterwards."""
    marker = request.node.get_closest_marker("form")
    form: Form = marker.args[0] if marker else SHORT
    kwargs = marker.kwargs if marker else {}
    d = Drill(flink, form, **kwargs)
    try:
        d.start()
        yield d
    finally:
        d.close()
        if d.results:
            name = request.node.name.removeprefix("test_")
            print("\n" + report(d.results, OUT / f"chaos-{name}.json"))


def _failed(results: list[Figures]) -> list[Figures]:
    return [f for f in results if not f.exact]


def test_fault_matrix_short(drill: Drill) -> None:
    for row in _rows(long=False):
        drill.run_row(row)
    assert [f.row for f in drill.results] == [r.id for r in _rows(long=False)]
    assert not _failed(drill.results), report(drill.results, OUT / "chaos-short.json")
    if ONLY:
        return
    hot = drill.client.get("hot-user", ["count_click_lifetime"])["count_click_lifetime"]
    assert hot.value and hot.value > 0  # the hot user's exact count is in the figures
    control = resume_without_checkpoint(drill)  # last: it breaks the drill's state
    assert not control.exact and control.mismatches > 0, control


def resume_without_checkpoint(drill: Drill) -> Figures:
    """Row 1 with its repair switched off: the killed job comes back without its state (a
    fresh submit on the same consumer group). The same figures must show the damage."""
    drill.streamer.resume()
    time.sleep(drill.form.before_s + 2 * drill.form.checkpoint_interval_ms / 1000)
    drill.cluster.kill()
    drill.cluster.up(timeout_s=180)
    drill.submit()  # no checkpoint: tiles of the earlier events are gone
    time.sleep(drill.form.after_s)
    drill.settle(timeout_s=30)
    fig = drill.measure(Figures("1-control", "resumed without the checkpoint", drill.form.name))
    drill.results.append(fig)
    return fig


@pytest.mark.form(SHORT, restart_attempts=3, hook_times=8)
def test_control_limited_restarts_fail_for_good(drill: Drill) -> None:
    """Row 3 with its repair switched off (3 restart attempts, Flink's old fixed-delay limit):
    8 exceptions (at least 4 failovers: both subtasks may throw within one) leave the job
    FAILED, so row 3's check sees it."""
    fig = Figures("3-control", "exception in the job, 3 restart attempts", "short")
    throw_in_job(drill, fig)
    drill.results.append(fig)
    assert drill.job_state() == "FAILED"
    assert fig.problems and fig.problems[0].startswith("job FAILED"), fig


@pytest.mark.skipif(not LONG_RUN, reason="make chaos (USERPULSE_CHAOS=long)")
@pytest.mark.form(SHORT, store_loss_rewrite=False)
def test_control_store_rows_without_the_rewrite(drill: Drill) -> None:
    """Rows 6a and 6b with the job's rewrite rule switched off (``store_loss_rewrite``): the
    same figures must show the damage (``make test`` has these controls, smaller, in
    test_store_faults.py)."""
    for row in [r for r in ROWS if r.id in ("6a", "6b")]:
        fig = drill.run_row(row)
        fig.row += "-control"
        assert not fig.exact and (fig.mismatches or fig.lost), fig


@pytest.mark.skipif(not LONG_RUN, reason="make chaos (USERPULSE_CHAOS=long)")
@pytest.mark.form(LONG, hook_times=20)
def test_fault_matrix_long(drill: Drill) -> None:
    for row in _rows(long=True):
        drill.run_row(row)
    assert not _failed(drill.results), report(drill.results, OUT / "chaos-long.json")


@pytest.mark.skipif(not LONG_RUN, reason="make chaos (USERPULSE_CHAOS=long)")
@pytest.mark.form(LONG)
def test_soak(drill: Drill) -> None:
    drill.run_row(Row("9", "soak: a random fault of rows 1, 2, 4, 5, 6 every 30-90 s", soak))
    assert not _failed(drill.results), drill.results
