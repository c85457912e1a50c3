"""One source of truth: a window and a tile aggregate added to ``userpulse/features.py`` (one line
each) appear in the backfill's output, equal to the reference, with no other code.

The catalogue is edited in a child interpreter only: its source with two extra lines is loaded as
``userpulse.features`` before anything imports it; the repository is not touched.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests import REPO_ROOT
from userpulse.features import FEATURE_NAMES

CHILD = textwrap.dedent(
    """
    import importlib.util, json, random, sys
    from pathlib import Path
    src = Path("userpulse/features.py").read_text()
    src = src.replace(
        'Window("5m", 300_000, 5_000),',
        'Window("5m", 300_000, 5_000),\\n    Window("2m", 120_000, 2_000),',
    )
    src = src.replace(
        'TILE_AGGREGATES: tuple[TileAggregate, ...] = (',
        'TILE_AGGREGATES: tuple[TileAggregate, ...] = (\\n'
        '    TileAggregate("max_position_click", _C, "max", "position", "rank", "lowest rank"),',
    )
    spec = importlib.util.spec_from_loader("userpulse.features", loader=None)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["userpulse.features"] = mod
    exec(compile(src, "features.py", "exec"), mod.__dict__)

    from userpulse.backfill import backfill
    from userpulse.backfill.columns import events_table
    from userpulse.events import Event, EventType
    from userpulse.features import FEATURE_NAMES
    from userpulse.reference import Reference

    rng = random.Random(5)
    t0 = 1_717_243_200_000
    evs = [
        Event(f"e{i}", EventType.CLICK, rng.choice("ab"), t0 + rng.randrange(600_000), "s",
              item_id=f"i{rng.randrange(9)}", position=rng.choice([None, 1, 2, 7]))
        for i in range(300)
    ]
    times = [t0 + rng.randrange(-10_000, 700_000) for _ in range(200)]
    users = [rng.choice("ab") for _ in times]
    import pyarrow as pa
    out = backfill(events_table(evs), pa.table({"user_id": users, "as_of_ms": times}),
                   now_ms=1_800_000_000_000).table.to_pylist()
    ref = Reference(evs)
    compared = mismatches = nonzero = 0
    for r in out:
        want = ref.features(r["user_id"], r["as_of_ms"])
        for n in FEATURE_NAMES:
            compared += 1
            mismatches += r[n] != want[n]
            nonzero += bool(want[n]) and n.endswith("_2m")
    print(json.dumps({"names": list(FEATURE_NAMES), "compared": compared,
                      "mismatches": mismatches, "nonzero_2m": nonzero}))
    """
)


def test_added_window_and_aggregate_flow_into_the_backfill() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    res = json.loads(done.stdout.strip().splitlines()[-1])
    added = sorted(set(res["names"]) - set(FEATURE_NAMES))
    # one new window (every windowed aggregate over it) and one new aggregate over every window
    assert "count_click_2m" in added and "max_position_click_2m" in added
    assert "max_position_click_1m" in added and "max_position_click_24h" in added
    assert len(added) == 10 + 4  # 9 old + 1 new aggregates over 2m; the new one over 4 old windows
    assert res["mismatches"] == 0 and res["compared"] == 200 * len(res["names"])
    assert res["nonzero_2m"] > 100
