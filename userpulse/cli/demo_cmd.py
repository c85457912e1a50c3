"""`userpulse demo`: the whole path once, on the embedded default.

Starts Kafka and Redis, replays the EB-NeRD sample (real reading logs) into a fresh demo topic,
runs the feature job bounded with PyFlink's local execution, then looks features up for the most
active users as of the end of the data.
"""

from __future__ import annotations

import time
from collections import Counter

import redis
import typer
from rich.console import Console

from userpulse import redis_conn, stack
from userpulse.settings import Settings

console = Console()
DEMO_TOPIC = "userpulse.demo"


def clear_feature_keys(client: redis.Redis, prefix: str) -> int:
    """Delete every key under the layout prefix (``<prefix>:*``, SCAN + UNLINK); returns how many.

    Needed before rebuilding from scratch: writes are versioned, so a fresh run would never
    overwrite the newer tiles of a previous run.
    """
    n = 0
    batch: list[bytes] = []
    for k in client.scan_iter(match=f"{prefix}:*", count=1000):
        batch.append(k)
        if len(batch) >= 1000:
            n += client.unlink(*batch)
            batch = []
    if batch:
        n += client.unlink(*batch)
    return n


def demo(
    dataset: str = typer.Option("ebnerd", help="Replay dataset: ebnerd, globo or otto."),
    users: int = typer.Option(3, min=1, help="How many of the most active users to show."),
) -> None:
    """Start the stack, replay real events, run the job bounded, show looked-up features."""
    t_start = time.monotonic()
    started: list[str] = []  # services this demo started: stopped again when a step fails
    try:
        top, end = _run(dataset, users, started)
    except BaseException:
        stack.stop_started(Settings(), started)
        if started:
            console.print(f"[yellow]stopped what the demo had started: {', '.join(started)}[/]")
        raise
    console.print(
        f"[green]demo finished in {time.monotonic() - t_start:.1f} s[/]. Try: "
        f"userpulse features get {top[0]} --as-of {end}"
    )


def _run(dataset: str, users: int, started: list[str]) -> tuple[list[str], int]:
    """The demo's steps; appends the services it starts to ``started``; returns the users shown
    and the lookup time (UTC epoch ms)."""
    from userpulse import layout
    from userpulse.cli.features_cmd import render
    from userpulse.jobs.runner import run_job
    from userpulse.lookup import FeatureClient
    from userpulse.producers.kafka_out import EventSink
    from userpulse.producers.replay import read_dataset

    settings = Settings(
        topic=DEMO_TOPIC,
        dead_letter_topic=DEMO_TOPIC + ".dlq",
        late_topic=DEMO_TOPIC + ".late",
        group_id="userpulse-demo",
    )
    if settings.replay_data_dir is None:  # fail before starting anything
        read_dataset(dataset, None)
    console.rule("1. local stack")
    # the default topics, for `produce` / `job run` afterwards; the demo's own are recreated below
    stack.up(Settings(), started=started)
    console.print(f"Kafka {settings.kafka_bootstrap}, Redis {settings.redis_url}")
    # the partition counts `up` expects (default_topics), so that a second demo starts cleanly
    for t, partitions in stack.default_topics(settings).items():
        stack.recreate_topic(settings, t, partitions)
    r = redis_conn.connect(settings, "admin")  # clearing keys needs SCAN + UNLINK
    cleared = clear_feature_keys(r, layout.PREFIX)
    console.print(f"fresh topic {settings.topic}; cleared {cleared} old feature keys")

    console.rule(f"2. replay {dataset}")
    data = read_dataset(dataset, settings.replay_data_dir)
    with EventSink.for_settings(settings) as sink:
        for e in data.events:
            sink.send(e)
        sink.flush(60)
        st = sink.stats()
    kinds = Counter(e.event_type.value for e in data.events)
    console.print(f"produced {st.delivered}/{st.sent} events ({dict(kinds)}), failed {st.failed}")

    console.rule("3. feature job (PyFlink local execution, bounded)")
    t0 = time.monotonic()
    summary = run_job(settings, bounded=True, job_name="userpulse-demo")
    console.print(
        f"job done in {time.monotonic() - t0:.1f} s: dead-lettered {summary['dead_lettered']}, "
        f"late {summary['late']}"
    )

    console.rule("4. lookups")
    end = max(e.event_time_ms for e in data.events)
    top = [u for u, _ in Counter(e.user_id for e in data.events).most_common(users)]
    client = FeatureClient.from_settings(settings)  # the read-only lookup user
    names = [
        "count_click_1h",
        "count_hover_1h",
        "sum_dwell_hover_1h",
        "max_depth_scroll_1h",
        "count_click_24h",
        "count_hover_24h",
        "sum_dwell_hover_24h",
        "mean_dwell_hover_24h",
        "distinct_items_24h",
        "ctr_click_hover_24h",
        "count_hover_lifetime",
        "first_seen",
        "last_seen",
        "last_items_click",
        "session_events",
    ]
    for u in top:
        console.print(render(u, client.get(u, names, as_of=end), end))
    return top, end
