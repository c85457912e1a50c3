"""bench/jfr_samples.py and bench/jvm_profile.py on real JVMs: the samples before the measured
window (the JIT's settling after JFR starts) are left out; priming leaves no recording behind."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bench import jfr_samples, jvm_profile

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
    jfc.write_text(jfr_samples.JFC)
    subprocess.run(
        ["java", f"-XX:StartFlightRecording=filename={rec},settings={jfc}", str(src)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    out = subprocess.run(
        ["jfr", "print", "--json", "--events", "jdk.ExecutionSample", str(rec)],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    times = sorted(
        t for ev in json.loads(out)["recording"]["events"] if (t := jfr_samples.sample_epoch_s(ev))
    )
    assert len(times) > 20  # every 2 ms of the thread on a core (a busy machine gives fewer)
    everything = sum(jfr_samples.parse_recording(rec)["samples"].values())
    mid = times[len(times) // 2]
    second_half = sum(jfr_samples.parse_recording(rec, since_epoch_s=mid)["samples"].values())
    after_end = sum(
        jfr_samples.parse_recording(rec, since_epoch_s=times[-1] + 1)["samples"].values()
    )
    assert everything == len(times)
    assert second_half == len([t for t in times if t >= mid]) < everything
    assert after_end == 0


# alive until killed, so that jcmd can attach (prints its pid first)
WAIT = """
public class Wait {
    public static void main(String[] args) throws Exception {
        System.out.println(ProcessHandle.current().pid());
        Thread.sleep(120_000);
    }
}
"""


def test_prime_leaves_no_recording_running(tmp_path: Path) -> None:
    src = tmp_path / "Wait.java"
    src.write_text(WAIT)
    jvm = subprocess.Popen(["java", str(src)], stdout=subprocess.PIPE, text=True)
    try:
        assert jvm.stdout is not None
        pid = int(jvm.stdout.readline())
        jvm_profile.prime([pid], tmp_path / "jfr")
        check = subprocess.run(
            ["jcmd", str(pid), "JFR.check"], check=True, capture_output=True, text=True
        ).stdout
        assert "No available recordings" in check, check
        assert (tmp_path / "jfr" / "bench-samples.jfc").read_text() == jfr_samples.JFC
    finally:
        jvm.kill()
        jvm.wait()
    with pytest.raises(RuntimeError, match=f"jcmd {pid} JFR.start"):
        jvm_profile.prime([pid], tmp_path / "jfr")  # the JVM is gone
