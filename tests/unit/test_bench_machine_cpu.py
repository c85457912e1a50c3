"""The machine's CPU by process group (bench/machine_cpu.py): grouping, deltas, the step table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.machine_cpu import (
    Proc,
    Snapshot,
    cores_by_group,
    group_of,
    latest,
    snapshot,
    table,
)


def test_command_lines_name_their_group() -> None:
    assert group_of("/usr/bin/java -Xmx512m kafka.Kafka config/kraft.properties") == "broker"
    assert group_of("/usr/bin/redis-server 127.0.0.1:16379") == "redis"
    assert (
        group_of("java -cp flink-dist.jar org.apache.flink.runtime.taskexecutor.TaskManagerRunner")
        == "taskmanager"
    )
    assert group_of("python -m userpulse produce synthetic --rate 5000") == "producer"
    assert group_of("/venv/bin/python /repo/bench/peer_quix.py --topic t") == "peer"
    assert group_of("python -c from multiprocessing.spawn import spawn_main") is None


def _snap(at: float, busy: float, procs: dict[int, tuple[int, str | None, float]]) -> Snapshot:
    return Snapshot(at, busy, {pid: Proc(pp, own, cpu) for pid, (pp, own, cpu) in procs.items()})


def test_children_take_their_ancestors_group_and_new_processes_count_from_their_start() -> None:
    bench = 100
    a = _snap(
        0.0,
        10.0,
        {
            1: (0, None, 5.0),
            bench: (1, None, 1.0),
            200: (bench, "producer", 2.0),
            300: (1, "broker", 7.0),
            400: (1, None, 3.0),  # someone else's process
            500: (1, "redis", 1.0),  # exits before b: not seen
        },
    )
    b = _snap(
        2.0,
        13.5,
        {
            1: (0, None, 5.0),
            bench: (1, None, 1.2),
            200: (bench, "producer", 2.6),
            201: (200, None, 0.4),  # a multiprocessing worker started in between: all of it
            300: (1, "broker", 7.5),
            400: (1, None, 3.2),
            600: (bench, None, 0.2),  # a helper the bench started (no group of its own)
        },
    )
    cores = cores_by_group(a, b, bench_pid=bench)
    assert cores == {
        "producer": 0.5,  # (0.6 + 0.4) / 2 s
        "broker": 0.25,
        "bench": 0.2,  # (0.2 + 0.2) / 2 s
        "other": 0.1,
        "machine": 1.75,  # 3.5 busy seconds / 2 s
        "unattributed": 0.7,  # 1.75 - 1.05
    }
    with pytest.raises(ValueError, match="later"):
        cores_by_group(b, a, bench_pid=bench)


def test_a_real_child_burning_cpu_is_counted_to_the_bench() -> None:
    a = snapshot()
    burn = (
        "import time, os\n"
        "t = time.process_time()\n"
        "while time.process_time() - t < 0.6: pass\n"
        "print(sum(os.times()[:2]))"
    )
    used = float(
        subprocess.run(
            [sys.executable, "-c", burn], capture_output=True, text=True, check=True
        ).stdout
    )
    # the child has exited: snapshot b never sees it, so its CPU is the machine's, unattributed
    b = snapshot()
    wall = b.at_s - a.at_s
    cores = cores_by_group(a, b)
    assert cores["machine"] * wall >= 0.9 * used - 0.05
    # a live child is attributed to this process's tree ("bench")
    child = subprocess.Popen([sys.executable, "-c", burn], stdout=subprocess.PIPE, text=True)
    try:
        c = snapshot()
        while True:
            d = snapshot()
            if d.procs.get(child.pid) and d.procs[child.pid].cpu_s >= 0.5:
                break
            assert child.poll() is None, "the child ended before it was seen burning"
        seen = cores_by_group(c, d, bench_pid=os.getpid())
        assert seen["bench"] * (d.at_s - c.at_s) >= 0.4
    finally:
        child.communicate(timeout=30)


def test_the_step_table_reads_us_per_event_at_the_achieved_rate() -> None:
    steps = [
        {"rate": 10_000, "achieved_rate": 10_000.0, "keeps_up": True, "cpu_cores": {
            "taskmanager": 0.5, "jobmanager": 0.02, "producer": 0.3, "broker": 0.1,
            "redis": 0.2, "machine": 1.2, "unattributed": 0.08}},
        {"rate": 20_000, "achieved_rate": 20_000.0, "keeps_up": False},  # no CPU figures
    ]  # fmt: skip
    out = table({"userpulse-p1": {"steps": steps}, "peer": {"steps": []}})
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[2] == (
        "| userpulse-p1 | 10,000 | yes | 52.0 | 30.0 | 10.0 | 20.0 | 0 | 0 | 8.0 | 1.20 |"
    )
    assert table({"peer": {"steps": steps[1:]}}) == ""


def test_a_merged_snapshot_keeps_the_cpu_of_processes_that_exited_before_its_end() -> None:
    a = _snap(0.0, 0.0, {200: (1, "producer", 1.0), 201: (200, None, 0.0)})
    mid = _snap(1.0, 1.5, {200: (1, "producer", 1.1), 201: (200, None, 0.8)})
    end = _snap(2.0, 2.5, {200: (1, "producer", 1.2)})  # the worker 201 has exited
    assert cores_by_group(a, end, bench_pid=1)["producer"] == 0.1
    assert cores_by_group(a, latest(mid, end), bench_pid=1)["producer"] == 0.5  # (0.2 + 0.8) / 2


def test_a_zombie_keeps_the_group_its_command_line_named_while_it_ran() -> None:
    # the producer has exited and is not reaped yet: /proc shows it with an empty command line
    bench = 100
    a = _snap(0.0, 0.0, {bench: (1, None, 1.0), 200: (bench, "producer", 0.5)})
    mid = _snap(1.0, 1.0, {bench: (1, None, 1.0), 200: (bench, "producer", 1.0)})
    end = _snap(2.0, 2.0, {bench: (1, None, 1.0), 200: (bench, None, 1.5)})
    cores = cores_by_group(a, latest(latest(a, mid), end), bench_pid=bench)
    assert cores["producer"] == 0.5  # (1.5 - 0.5) / 2 s, not the bench's
    assert "bench" not in cores


def test_a_real_exited_unreaped_child_is_still_counted_to_its_group() -> None:
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"
    # "userpulse produce" as an argument: the child's command line names the producer group
    child = subprocess.Popen([sys.executable, "-c", burn, "userpulse produce"])
    try:
        first = snapshot()
        assert first.procs[child.pid].own == "producer"
        merged = first
        while True:  # until the child has exited (a zombie: this test has not reaped it)
            # its state read before the snapshot: a snapshot taken after the state says "Z" is a
            # zombie's (read after it, the child could exit in between and the snapshot be older)
            zombie = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
            snap = snapshot()
            merged = latest(merged, snap)
            if zombie:
                break
        assert snap.procs[child.pid].own is None  # a zombie's command line is empty
        assert merged.procs[child.pid].own == "producer"
        assert cores_by_group(first, merged)["producer"] * (merged.at_s - first.at_s) >= 0.2
    finally:
        child.wait(30)
