"""docs/features.md is generated from the definitions and must be current."""

from __future__ import annotations

from userpulse import featuredocs
from userpulse.features import FEATURE_NAMES


def test_features_page_is_current() -> None:
    assert featuredocs.DOC_PATH.read_text() == featuredocs.render(), (
        "docs/features.md is stale: run `userpulse features docs --write`"
    )


def test_features_page_lists_every_feature_once() -> None:
    text = featuredocs.render()
    for name in FEATURE_NAMES:
        assert text.count(f"| `{name}` |") == 1, name
    assert len(FEATURE_NAMES) == 4 * 9 + 10
