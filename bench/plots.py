"""PNG plots of a bench run (matplotlib, Agg backend; small files: 100 dpi, few points).

- ``freshness_hist.png``: freshness histogram per system (log-spaced bins, ms).
- ``freshness_over_time.png``: p50 and p99 of freshness per 5-second bucket, per system.
- ``throughput.png``: processed rate vs target rate of every step of the throughput search, per
  system (userpulse at each parallelism), with the ceiling and the y = x line.
- ``jvm_cpu_by_stage.png``: the job's JVM CPU us per event by stage (bench/jvm_profile.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bench.freshness import percentile  # noqa: E402

COLORS = {
    "userpulse": "tab:blue",
    "userpulse-p1": "tab:blue",
    "userpulse-p2": "tab:purple",
    "userpulse-local": "tab:cyan",
    "peer": "tab:orange",
    "peer-tiles": "tab:green",
}
MARKERS = {"userpulse-p2": "s", "userpulse-local": "^"}
"""Scatter markers of the throughput plot (default ``o``): p = 1 and p = 2 often overlap."""
DPI = 100
BUCKET_S = 5.0


def freshness_hist(samples: dict[str, list[tuple[float, float]]], path: Path) -> Path:
    """Histogram of freshness (ms, log x) for each system's ``(t_s, ms)`` samples."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    values = [v for s in samples.values() for _, v in s]
    if values:
        lo, hi = max(min(values), 0.1), max(values)
        bins = [lo * (hi / lo) ** (i / 40) for i in range(41)] if hi > lo else 10
        for name, s in samples.items():
            ms = [v for _, v in s]
            if ms:
                ax.hist(
                    ms, bins=bins, alpha=0.6, label=f"{name} (n={len(ms)})", color=COLORS.get(name)
                )
        ax.set_xscale("log")
    ax.set_xlabel("freshness (ms): readable in Redis - event creation")
    ax.set_ylabel("probes")
    ax.set_title("Freshness at 50% of each system's sustained rate")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def freshness_over_time(samples: dict[str, list[tuple[float, float]]], path: Path) -> Path:
    """p50 / p99 of freshness per :data:`BUCKET_S` bucket over the run, per system."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, s in samples.items():
        buckets: dict[int, list[float]] = {}
        for t, v in s:
            buckets.setdefault(int(t // BUCKET_S), []).append(v)
        xs = sorted(buckets)
        if not xs:
            continue
        c = COLORS.get(name)
        ax.plot([x * BUCKET_S for x in xs], [percentile(buckets[x], 0.5) for x in xs],
                color=c, label=f"{name} p50")  # fmt: skip
        ax.plot([x * BUCKET_S for x in xs], [percentile(buckets[x], 0.99) for x in xs],
                color=c, linestyle="--", label=f"{name} p99")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel(f"seconds into the freshness run ({BUCKET_S:g} s buckets)")
    ax.set_ylabel("freshness (ms)")
    ax.set_title("Freshness percentiles over time")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def throughput(steps: dict[str, list[dict[str, Any]]], ceiling: float | None, path: Path) -> Path:
    """Processed vs target rate of each search step (filled = kept up), ceiling line, y = x."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    top = 1.0
    for name, ss in steps.items():
        c = COLORS.get(name)
        pts = sorted((s["rate"], s["processed_rate"], s["keeps_up"]) for s in ss)
        m = MARKERS.get(name, "o")
        for rate, done, ok in pts:
            ax.scatter([rate], [done], color=c, facecolors=c if ok else "none", s=30, marker=m)
            top = max(top, rate, done)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], color=c, label=name, linewidth=1)
    ax.plot([1, top], [1, top], color="grey", linestyle=":", label="processed = target")
    if ceiling:
        ax.axhline(ceiling, color="black", linestyle="--", label=f"ceiling {ceiling:,.0f}/s")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("target rate (events/s)")
    ax.set_ylabel("processed (events/s)")
    ax.set_title("Throughput vs target (filled: lag stayed bounded)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def cpu_by_stage(profile: dict[str, Any], path: Path) -> Path:
    """Horizontal bars: JVM CPU us per event of each stage (the profile's ``us_per_event``)."""
    stages = list(profile.get("us_per_event", {}))
    vals = [profile["us_per_event"][st] or 0.0 for st in stages]
    fig, ax = plt.subplots(figsize=(6, 3.0))
    ax.barh(stages[::-1], vals[::-1], color="tab:blue")
    for i, v in enumerate(vals[::-1]):
        ax.text(v, i, f" {v:.1f}", va="center", fontsize="small")
    ax.set_xlabel("JVM CPU us per event (TaskManagers' process CPU, JFR samples by stage)")
    ax.set_title(
        f"{profile.get('system', 'userpulse')} at {profile.get('rate', 0):,.0f} events/s: "
        f"{profile.get('cpu_us_per_event')} us/event in all"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path
