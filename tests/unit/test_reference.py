"""Reference implementation on cases H02 and H05 (and the rest of the value expectations)."""

from __future__ import annotations

import pytest

from tests.cases import case_events, load_cases
from userpulse.events import Event, EventType
from userpulse.reference import Reference

CASES = load_cases()


@pytest.mark.parametrize("case_id", ["H02", "H05", "H06", "H10", "H16", "H19"])
def test_reference_matches_case_values(case_id: str) -> None:
    case = CASES[case_id]
    ref = Reference(case_events(case))
    for exp in case["expect"]["features"]:
        got = ref.features(exp["user_id"], exp["as_of"])[exp["feature"]]
        assert got == pytest.approx(exp["value"]), exp


def test_empty_window_values_and_last_seen() -> None:
    t0 = 1717243200000
    ref = Reference([Event("1", EventType.HOVER, "u", t0 + 1500, "s", dwell_ms=7)])
    f = ref.features("u", t0 + 1000)
    assert f["last_seen"] == t0 + 1500  # same second as t: included
    assert ref.features("u", t0 + 999)["last_seen"] is None
    late = ref.features("u", t0 + 3_600_000)
    assert late["count_hover_1m"] == 0 and late["max_depth_scroll_1m"] is None
    assert late["count_hover_24h"] == 1 and late["sum_dwell_hover_24h"] == 7
    assert ref.users == ["u"]
