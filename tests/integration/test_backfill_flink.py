"""The backfill on a real Flink session cluster (JobManager + 2 TaskManagers, batch mode, p = 2)
equals the embedded backfill and the reference on EB-NeRD at seeded label times.

The cluster runs on free ports with its own home (no Kafka or Redis needed), so it disturbs
neither a developer's `userpulse cluster up` nor the other integration tests.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests import REPO_ROOT
from tests.backfill_kit import Oracle, compare_rows, label_times, labels_table
from tests.cases import DATA_DIR
from tests.integration.conftest import _free_ports
from userpulse.backfill import backfill
from userpulse.backfill.columns import events_table
from userpulse.backfill.flink_run import run_on_cluster
from userpulse.backfill.sources import write_output
from userpulse.features import FEATURE_NAMES
from userpulse.producers.replay import load_dataset
from userpulse.settings import Settings
from userpulse.stack.flink import FlinkCluster

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A session cluster on free ports with a home of its own; stopped afterwards."""
    rest, rpc = _free_ports(2)
    base = random.randrange(40_000, 49_000, 20)
    home = REPO_ROOT / ".userpulse" / "test" / f"backfill-{rest}"
    s = Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=home,
        flink_rest_port=rest,
        flink_rpc_port=rpc,
        flink_metrics_ports=f"{base}-{base + 9}",
        flink_taskmanagers=2,
        flink_slots_per_taskmanager=1,
    )
    c = FlinkCluster(s)
    try:
        c.up(timeout_s=180)
    except Exception as e:  # noqa: BLE001 - reported as a test failure with the log tail
        c.down()
        pytest.fail(f"could not start the Flink session cluster: {e}")
    yield s
    c.down()
    shutil.rmtree(home, ignore_errors=True)  # logs and staged runs (kept after a failed start)


def test_flink_batch_equals_embedded_and_reference(cluster: Settings, tmp_path: Path) -> None:
    events = load_dataset("ebnerd", DATA_DIR)  # 35,802 events of 44 users
    users = {e.user_id for e in events}
    pq.write_table(events_table(events), tmp_path / "events.parquet")
    lab = label_times(events, 800, seed=2) + [("nobody", events[0].event_time_ms)]
    pq.write_table(labels_table(lab), tmp_path / "labels.parquet")
    out = tmp_path / "out.parquet"
    summary = run_on_cluster(
        str(tmp_path / "events.parquet"),
        tmp_path / "labels.parquet",
        out,
        None,
        None,
        parallelism=2,
        quiet=True,
        settings=cluster,
        buckets=7,
    )
    assert summary["labels"] == len(lab) and summary["events"] == len(events)
    got = pq.read_table(out)
    write_output(
        backfill(events_table(events), labels_table(lab)).table, tmp_path / "local.parquet"
    )
    embedded = pq.read_table(tmp_path / "local.parquet")
    assert got.equals(embedded)
    tally = compare_rows(got.to_pylist(), Oracle(events), users)
    assert tally.mismatches == 0, tally.bad
    assert tally.compared == len(lab) * len(FEATURE_NAMES)
