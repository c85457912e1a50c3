"""bench/jvm_profile.py on a real JFR recording: the samples before the measured window (the
JIT's settling after JFR starts) are left out."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bench import jvm_profile

pytestmark = pytest.mark.integration

# busy on one thread for 2 s (ExecutionSample sees only threads running Java code)
SPIN = """
public class Spin {
    public static void main(String[] args) {
        long x = 0, end = System.currentTimeMillis() + 2000;
        while (System.currentTimeMillis() < end) x += x * 31 + 7;
        System.out.println(x);
    }
}
"""


def test_samples_before_the_window_are_left_out(tmp_path: Path) -> None:
    src = tmp_path / "Spin.java"
    src.write_text(SPIN)
    rec = tmp_path / "spin.jfr"
    jfc = tmp_path / "samples.jfc"
    jfc.write_text(jvm_profile.JFC)
    subprocess.run(
        ["java", f"-XX:StartFlightRecording=filename={rec},settings={jfc}", str(src)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    out = subprocess.run(
        ["jfr", "print", "--json", "--events", "jdk.ExecutionSample", str(rec)],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    times = sorted(
        t for ev in json.loads(out)["recording"]["events"] if (t := jvm_profile.sample_epoch_s(ev))
    )
    assert len(times) > 20  # every 2 ms of the thread on a core (a busy machine gives fewer)
    everything = sum(jvm_profile.parse_recording(rec)["samples"].values())
    mid = times[len(times) // 2]
    second_half = sum(jvm_profile.parse_recording(rec, since_epoch_s=mid)["samples"].values())
    after_end = sum(
        jvm_profile.parse_recording(rec, since_epoch_s=times[-1] + 1)["samples"].values()
    )
    assert everything == len(times)
    assert second_half == len([t for t in times if t >= mid]) < everything
    assert after_end == 0
