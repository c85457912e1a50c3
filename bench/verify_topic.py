"""Compare the online store with the reference computed from the input topic itself.

Reads every record of ``settings.topic`` (from the beginning, all partitions), decodes the valid
ones as the job does (both framings, the settings' schema registry and reader schema),
computes every feature of every user with the offline reference
(:mod:`userpulse.reference`) and compares it with what the lookup client reads from Redis, as of
the end of the data and around each user's newest event (userpulse/compare.py rules).
For traffic without late records (the job counts every valid record); run it after the job has
caught up. Used for the closing note of issue 6 (a live cluster after stop / rescale / resume):

    .venv/bin/python -m bench.verify_topic            # settings from USERPULSE_* / userpulse.env
"""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer

from userpulse import kafka_conf
from userpulse.compare import as_of_points, compare
from userpulse.events import Event
from userpulse.lookup import FeatureClient
from userpulse.schemas.codec import RecordCoordinates
from userpulse.schemas.records import decode_record
from userpulse.schemas.registry import job_decoder
from userpulse.settings import Settings


def topic_events(s: Settings, timeout_s: float = 60.0) -> tuple[list[Event], int]:
    """The valid events of ``s.topic`` and the number of records that did not decode."""
    c = Consumer(
        {
            **kafka_conf.librdkafka_config(s),
            "bootstrap.servers": s.kafka_bootstrap,
            "group.id": "verify." + uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,
        }
    )
    parts = len(c.list_topics(s.topic, timeout=10).topics[s.topic].partitions)
    c.subscribe([s.topic])
    decoder, events, bad, eofs = job_decoder(s), [], 0, 0
    deadline = time.monotonic() + timeout_s
    while eofs < parts and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        err = m.error()
        if err is not None:
            eofs += err.code() == -191  # _PARTITION_EOF
            continue
        value = m.value()
        if value is None:
            continue
        where = RecordCoordinates(m.topic() or "", m.partition() or 0, m.offset() or 0)
        out = decode_record(
            decoder, m.key(), value, int(time.time() * 1000), s.max_future_ms, where
        )
        if out.error_class or out.event is None:
            bad += 1  # dead-lettered by the job (bad bytes, invalid field, key mismatch)
        else:
            events.append(out.event)
    c.close()
    return events, bad


def main() -> None:
    """Print the comparison; exit 1 on any mismatch."""
    s = Settings()
    events, bad = topic_events(s)
    res = compare(FeatureClient.from_settings(s), events, as_of_points(events, per_user=2))
    users = len({e.user_id for e in events})
    print(f"{s.topic}: {len(events)} events ({bad} not decodable), {users} users")
    print(
        f"compared {res.compared} values ({res.nonzero} non-zero), "
        f"{res.out_of_retention} out of retention, mismatches {res.mismatches}"
    )
    for row in res.bad:
        print("  mismatch", row)
    raise SystemExit(1 if res.mismatches else 0)


if __name__ == "__main__":
    main()
