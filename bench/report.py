"""The bench report: ratios measured side by side, targets, and a Markdown table.

``build`` turns the raw results of one run into the dict written as ``bench/report.json``;
``table`` renders its headline figures as Markdown (printed at the end of ``make bench`` and
pasted into ``docs/bench.md``). Ratios are the point: absolute numbers move with the load of this
shared machine, ratios measured in the same run much less.
"""

from __future__ import annotations

from typing import Any

TARGETS = {
    "throughput_over_peer": 1.5,  # >=
    "throughput_over_ceiling": 0.5,  # >=
    "freshness_p50_ms": 10.0,  # <=
    "freshness_p99_ms": 50.0,  # <=
}


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 4)


def build(
    *,
    meta: dict[str, Any],
    ceiling: dict[str, Any],
    systems: dict[str, dict[str, Any]],
    lookups: dict[str, Any],
    jvm_profile: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The report dict.

    Args:
        meta: command, times, machine, configuration.
        ceiling: ``{"events_per_s": x, ...}`` of :func:`bench.ceiling.measure` (or an ``error``).
        systems: per system name (``userpulse-p1``, ``userpulse-p2``, ``peer``, ``peer-tiles``):
            ``sustained_events_per_s``, ``steps``, ``freshness`` (stats dict of
            :meth:`bench.freshness.Freshness.stats`; userpulse: the best parallelism only), ...
            (or an ``error``).
        lookups: what ``bench.lookups.run`` returned, or ``{"error": ...}``.
        jvm_profile: :func:`bench.jvm_profile.profile`'s result (or an ``error``), if run.
        state: :func:`bench.state_size.run`'s result (or ``skipped``), if run.

    The userpulse figures of the ratios and targets are those of its best variant (highest
    sustained rate; ``best_userpulse``).
    """
    ceil = ceiling.get("events_per_s")
    ups = {n: s for n, s in systems.items() if n.startswith("userpulse")}
    up_rates = {n: s.get("sustained_events_per_s") for n, s in ups.items()}
    best_up = max(
        (n for n in ups if up_rates[n]),
        key=lambda n: (up_rates[n] or 0, bool(ups[n].get("freshness"))),
        default=None,
    )
    up = ups.get(best_up or "", {})
    up_rate = up.get("sustained_events_per_s")
    with_f = [s for s in ups.values() if s.get("freshness")]
    up_f = up.get("freshness") or (with_f[0]["freshness"] if with_f else {})
    peers = {n: s for n, s in systems.items() if n.startswith("peer")}
    rates = {n: s.get("sustained_events_per_s") for n, s in peers.items()}
    best = max((n for n in rates if rates[n]), key=lambda n: rates[n] or 0, default=None)
    best_peer_rate = rates[best] if best else None
    p1, p2 = up_rates.get("userpulse-p1"), up_rates.get("userpulse-p2")
    ratios: dict[str, Any] = {
        "throughput": {
            "userpulse_over_ceiling": _ratio(up_rate, ceil),
            **{f"userpulse_over_{_id(n)}": _ratio(up_rate, rates[n]) for n in peers},
            **{f"{_id(n)}_over_ceiling": _ratio(rates[n], ceil) for n in peers},
            "userpulse_over_best_peer": _ratio(up_rate, best_peer_rate),
            **{f"{_id(n)}_over_ceiling": _ratio(up_rates[n], ceil) for n in ups},
            **{f"{_id(n)}_over_best_peer": _ratio(up_rates[n], best_peer_rate) for n in ups},
            "userpulse_p2_over_p1": _ratio(p2, p1),
        },
        "best_peer": best,
        "best_userpulse": best_up,
        **{
            f"freshness_userpulse_over_{_id(n)}": {
                q: _ratio(up_f.get(q), p.get("freshness", {}).get(q))
                for q in ("p50", "p99", "p999")
            }
            for n, p in peers.items()
        },
    }
    targets = [
        _target(
            "throughput >= 1.5x peer (the faster variant)",
            ratios["throughput"]["userpulse_over_best_peer"],
            1.5,
            ">=",
        ),
        _target(
            "throughput >= 0.5x ceiling", ratios["throughput"]["userpulse_over_ceiling"], 0.5, ">="
        ),
        _target("freshness p50 <= 10 ms", up_f.get("p50"), 10.0, "<="),
        _target("freshness p99 <= 50 ms", up_f.get("p99"), 50.0, "<="),
    ]
    return {
        **meta,
        "ceiling": ceiling,
        "systems": systems,
        "ratios": ratios,
        "targets": targets,
        "jvm_profile": jvm_profile,
        "state_size": state,
        "lookups": lookups,
    }


def _id(name: str) -> str:
    return name.replace("-", "_")


def _target(name: str, value: float | None, bound: float, op: str) -> dict[str, Any]:
    met = None if value is None else (value >= bound if op == ">=" else value <= bound)
    return {"target": name, "value": value, "bound": bound, "op": op, "met": met}


def _fmt(v: Any, digits: int = 0) -> str:
    if v is None:
        return "-"
    if isinstance(v, float | int):
        return f"{v:,.{digits}f}"
    return str(v)


def table(report: dict[str, Any]) -> str:
    """Markdown table of the headline figures: one column per system, ratios of the best
    userpulse variant."""
    ceil = report["ceiling"].get("events_per_s")
    systems = report["systems"]
    ups = [n for n in systems if n.startswith("userpulse")]
    peers = [n for n in systems if n.startswith("peer")]
    names = [*ups, *peers]
    col = {
        "userpulse-p1": "userpulse p=1",
        "userpulse-p2": "userpulse p=2",
        "userpulse-local": "userpulse (job run)",
        "peer": "peer: Quix sliding",
        "peer-tiles": "peer: Quix tiles",
    }
    head = " | ".join(col.get(n, n) for n in names)
    best = report["ratios"].get("best_userpulse") or "-"
    rows = [
        f"| figure | {head} | ceiling | best userpulse ({best}) / ceiling | best userpulse / "
        f"peer ({', '.join(col.get(n, n).removeprefix('peer: ') for n in peers)}) |",
        "| --- |" + " ---: |" * (len(names) + 3),
    ]

    def vals(get: Any, digits: int) -> str:
        return " | ".join(_fmt(get(systems.get(n, {})), digits) for n in names)

    r = report["ratios"]
    tp = r["throughput"]
    up_peer = ", ".join(_fmt(tp.get(f"userpulse_over_{_id(n)}"), 2) for n in peers)
    rows.append(
        f"| sustained throughput (events/s) | {vals(lambda s: s.get('sustained_events_per_s'), 0)}"
        f" | {_fmt(ceil)} | {_fmt(tp['userpulse_over_ceiling'], 3)} | {up_peer} |"
    )
    rows.append(
        f"| freshness run rate (events/s) | {vals(lambda s: s.get('freshness_rate'), 0)} | | | |"
    )
    for q in ("p50", "p99", "p999"):
        fr = ", ".join(
            _fmt(r.get(f"freshness_userpulse_over_{_id(n)}", {}).get(q), 3) for n in peers
        )
        rows.append(
            f"| freshness {q} (ms) | {vals(lambda s, q=q: s.get('freshness', {}).get(q), 1)}"
            f" | | | {fr} |"
        )
    probes = " | ".join(
        f"{systems.get(n, {}).get('freshness', {}).get('n', '-')} / "
        f"{systems.get(n, {}).get('freshness', {}).get('timeouts', '-')}"
        for n in names
    )
    rows.append(f"| freshness probes (n / timed out) | {probes} | | | |")
    return "\n".join(rows)
