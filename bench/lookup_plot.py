"""The PNG of the lookup benchmark (:mod:`bench.lookups`): latency against offered load."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_latency(
    sweeps: dict[str, list[dict[str, Any]]],
    targets_p99_ms: dict[str, float],
    path: Path,
    note: str = "",
) -> Path:
    """PNG: open-loop p50 and p99 (ms, log y) against offered load (requests/s), one panel for
    single-user lookups and one for 100-user batches, client and HTTP service."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, shape in zip(axes, ("single", "batch100"), strict=True):
        for kind, color in (("client", "tab:blue"), ("http", "tab:orange")):
            pts = sweeps.get(f"{kind}_{shape}", [])
            xs = [p["rate_per_s"] for p in pts]
            for q, style in (("p50_ms", "--"), ("p99_ms", "-")):
                ax.plot(
                    xs, [p[q] for p in pts], style, marker="o", color=color, label=f"{kind} {q[:3]}"
                )
        target = targets_p99_ms.get(f"client_{shape}")
        if target:
            ax.axhline(target, color="grey", lw=0.8, ls=":", label=f"client p99 target {target} ms")
        ax.set_yscale("log")
        ax.set_xlabel("offered load, requests/s (open loop)")
        ax.set_ylabel("latency, ms")
        ax.set_title("1 user, 46 features" if shape == "single" else "100 users, 46 features")
        ax.legend(fontsize=7)
        ax.grid(True, which="both", lw=0.3)
    if note:
        fig.suptitle(note, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
