"""The feature job writing to a real local 3-master Redis Cluster (issue 6, item 4).

The JVM writer's own cluster behaviour (spread over masters, MOVED after a slot migration, ASK
mid-migration, TRYAGAIN for a new user during a migration, a master down mid-flush) is tested in
``jvm/src/test/java/io/userpulse/flink/redis/ClusterTileWriterTest.java``; here the whole job
runs against the cluster, and the cluster lookup client (following the settings alone) reads the
features back and compares them with the reference implementation.
"""

from __future__ import annotations

import pytest

from tests.cases import DATA_DIR
from tests.integration.clusterkit import Cluster, cluster_job_settings, redis_cluster
from tests.integration.jobkit import drop_topics, run_bounded, send_events
from userpulse.compare import as_of_points, compare
from userpulse.lookup import FeatureClient
from userpulse.producers.replay import load_dataset
from userpulse.settings import Settings

pytestmark = pytest.mark.integration
cluster = redis_cluster  # the module's cluster (tests/integration/clusterkit.py)


def test_job_writes_to_cluster_matching_reference(stack: Settings, cluster: Cluster) -> None:
    cluster.flushall()
    events = load_dataset("ebnerd", DATA_DIR)
    s = cluster_job_settings(stack, cluster, partitions=3)
    try:
        send_events(s, events)
        assert run_bounded(s) == {"dead_lettered": 0, "late": 0}
        users = {e.user_id for e in events}
        per_node = [cluster.admin(i).dbsize() for i in range(3)]
        # two keys per user, plus the store watch's marker and run-id record (up:v1:gen, :run)
        assert sum(per_node) == 2 * len(users) + 2 and all(per_node), per_node
        res = compare(FeatureClient.from_settings(s), events, as_of_points(events))
        assert res.mismatches == 0, res.bad
        assert res.compared > 10_000 and res.nonzero > 1_000, res
    finally:
        drop_topics(s)
        cluster.flushall()
