"""bench/tail.py's Timeline on a real JVM and the stack's real Redis: it sees the collector's pauses
(through ``jcmd VM.log``, turned on and off at run time) and a Redis that stops answering."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from bench.tail import Timeline, attribute
from userpulse import redis_conn
from userpulse.settings import Settings

pytestmark = pytest.mark.integration

# a JVM that collects every 100 ms (each System.gc() is a logged "Pause Full") until killed
GC_LOOP = """
public class GcLoop {
    public static void main(String[] args) throws Exception {
        System.out.println("ready");
        System.out.flush();
        while (true) { System.gc(); Thread.sleep(100); }
    }
}
"""

# keeps Redis's one thread busy for ARGV[1] microseconds
BUSY_LUA = """
local t0 = redis.call('TIME')
local s = t0[1] * 1000000 + t0[2]
while true do
  local t = redis.call('TIME')
  if t[1] * 1000000 + t[2] - s > tonumber(ARGV[1]) then return 1 end
end
"""


def test_the_timeline_sees_jvm_pauses_and_a_busy_redis(stack: Settings, tmp_path: Path) -> None:
    src = tmp_path / "GcLoop.java"
    src.write_text(GC_LOOP)
    jvm = subprocess.Popen(
        ["java", "-Xmx64m", str(src)], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        assert jvm.stdout is not None and jvm.stdout.readline().strip() == "ready"
        admin = redis_conn.connect(stack, "admin")
        timeline = Timeline([jvm.pid], admin, tmp_path / "logs")
        t_start = time.time() * 1000
        timeline.start()
        time.sleep(1.0)
        busy_at = time.time() * 1000
        admin.eval(BUSY_LUA, 0, 60_000)  # Redis answers nobody for 60 ms
        busy_end = time.time() * 1000
        time.sleep(1.0)
        intervals = timeline.stop(
            [{"id": 7, "trigger_timestamp": busy_at, "end_to_end_duration": 5}]
        )
        t_stop = time.time() * 1000
        time.sleep(0.5)  # ~5 more collections: none may reach the log
    finally:
        jvm.kill()
        jvm.wait()
    pauses = [i for i in intervals if i.kind == "gc_pause"]
    assert 10 <= len(pauses) <= 30  # ~every 100 ms for ~2 s, each logged once
    assert all(t_start <= p.start_ms < p.end_ms <= t_stop for p in pauses)
    assert {p.detail for p in pauses} == {"Full"}
    # turned off after the run: no further lines
    lines = (tmp_path / "logs" / f"gc-{jvm.pid}.log").read_text().count("Pause")
    assert lines == len(pauses)
    slow = [i for i in intervals if i.kind == "redis_slow"]
    assert slow and all(i.end_ms - i.start_ms > 10 for i in slow)
    assert any(i.start_ms <= busy_end and i.end_ms >= busy_at for i in slow)
    stalls = [i for i in intervals if i.kind == "redis_stall"]
    assert any(i.start_ms <= busy_end and i.end_ms >= busy_at for i in stalls)
    assert any("eval" in i.detail or "command" in i.detail for i in stalls)
    # a probe that lived through the busy Redis is attributed to it
    out = attribute([(busy_at - 1, 70.0), (t_stop + 5_000, 70.0)], intervals)
    assert out["slow"] == 2 and out["by_kind"]["redis_slow"] == 1 and out["unexplained"] == 1
    assert out["intervals"]["checkpoint"] == 1


def test_a_pid_that_is_not_a_jvm_is_left_out_not_fatal(stack: Settings, tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        timeline = Timeline([sleeper.pid], redis_conn.connect(stack, "admin"), tmp_path)
        timeline.start()
        time.sleep(0.2)
        intervals = timeline.stop([{"id": 1, "trigger_timestamp": 1000, "end_to_end_duration": 9}])
    finally:
        sleeper.kill()
        sleeper.wait()
    assert timeline.unlogged == [sleeper.pid]
    assert [i.kind for i in intervals if i.kind in ("gc_pause", "checkpoint")] == ["checkpoint"]
