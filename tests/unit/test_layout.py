"""Key layout v1: golden keys, hash tags and tile value encoding."""

from __future__ import annotations

import pytest

from userpulse import layout
from userpulse.profile import Profile
from userpulse.tiles import empty_tile


def test_golden_keys_and_fields() -> None:
    assert layout.user_key("u1") == "up:v1:{u1}"
    assert layout.user_key("a}b{c%") == "up:v1:{a%7Db%7Bc%25}"
    assert layout.user_key("ø") == "up:v1:{ø}"
    assert layout.tile_field(1000, 1717243201) == "t:1000:1717243201"
    assert layout.pruned_field(1_440_000) == "p:1440000"
    assert layout.META_LAST_SEEN == "ls"
    assert layout.parse_field("t:5000:343448640") == ("t", 5000, 343448640)
    assert layout.parse_field("p:1000") == ("p", 1000, 0)
    assert layout.parse_field("ls") == ("ls", 0, 0)
    assert layout.META_GENERATION == "g"
    assert layout.parse_field("g") == ("g", 0, 0)
    assert layout.GENERATION_KEY == "up:v1:gen"
    assert layout.RUN_KEY == "up:v1:run"
    assert layout.run_record(["b2", "a1", "b2"]) == "a1,b2"  # a cluster: every primary
    assert layout.run_record(["r1"]) == "r1"  # one server: its run_id alone (as before)
    assert layout.recorded_run_ids("a1,b2") == {"a1", "b2"}
    assert layout.recorded_run_ids(None) == layout.recorded_run_ids("") == frozenset()
    with pytest.raises(ValueError):
        layout.parse_field("x:1")


def test_golden_premerged_fields() -> None:
    # additive within v1 (docs/key-layout.md, "Pre-merged windows"); the JVM writes the same
    # names (vectors/layout.json, RedisLayoutVectorsTest.java)
    assert layout.META_PREMERGED == "m"
    assert layout.premerged_field(60_000) == "w:60000"
    assert layout.parse_field("w:86400000") == ("w", 86_400_000, 0)
    assert layout.parse_field("m") == ("m", 0, 0)
    assert layout.encode_premerged_meta(7, 1717243200123) == "7;1717243200123"
    assert layout.decode_premerged_meta(b"7;1717243200123") == (7, 1717243200123)
    t = empty_tile()
    assert layout.encode_window(None, t) == ";" + layout.encode_tile(t) == ";0;0;0;0;0;;;;"
    assert layout.encode_window(1717243260000, t) == "1717243260000;0;0;0;0;0;;;;"
    assert layout.split_window(b"1717243260000;0;0") == (1717243260000, b"0;0")
    assert layout.split_window(b";0;0") == (None, b"0;0")
    with pytest.raises(ValueError):
        layout.split_window(b"12")
    with pytest.raises(ValueError):
        layout.decode_premerged_meta("12")


def test_golden_profile_document_keys() -> None:
    # the writer (userpulse.profile here, ProfileDoc on the JVM) and the lookup spell them only
    # through these names; vectors/layout.json carries them to RedisLayoutVectorsTest.java
    assert layout.PROFILE_KEYS == ("c", "fs", "ls", "k", "s", "v", "rev", "base")
    assert tuple(Profile().record()) == layout.PROFILE_KEYS


def _hash_tag(key: str) -> str:
    """Redis Cluster hash tag rule (cluster spec, "Hash tags")."""
    s = key.find("{")
    if s >= 0:
        e = key.find("}", s + 1)
        if e > s + 1:
            return key[s + 1 : e]
    return key


@pytest.mark.parametrize("user", ["u1", "}x", "{}", "a}b", "%7D", "x" * 128])
def test_hash_tag_is_the_escaped_user_and_users_do_not_collide(user: str) -> None:
    assert _hash_tag(layout.user_key(user)) == layout.user_tag(user)
    assert layout.user_key(user) != layout.user_key(user + "}")
    assert layout.user_tag(user) != layout.user_tag(user.replace("}", "%7D") + "x")


def test_ttl_covers_longest_window_plus_lateness() -> None:
    assert layout.ttl_s() == 86_400 + 600 + 3_600
    assert layout.ttl_s(allowed_lateness_ms=0, margin_s=0) == 86_400


def test_tile_encoding_round_trip() -> None:
    t = empty_tile()
    # n, clicks, scrolls, hovers, dwell sum, dwell max, depth max, distinct sketch, newest time
    assert layout.encode_tile(t) == "0;0;0;0;0;;;;"
    v = [3, 1, 1, 1, 1500, 1500, 0.4, [1, 0xFFFFFFFF], 1717243204000]
    assert layout.encode_tile(v) == "3;1;1;1;1500;1500;0.4;AAAAAf////8=;1717243204000"
    assert layout.decode_tile(layout.encode_tile(v)) == v
    assert layout.decode_tile(b"0;0;0;0;0;;;;") == t
    with pytest.raises(ValueError):
        layout.decode_tile("1;2")


def test_profile_key_and_value() -> None:
    assert layout.profile_key("u1") == "up:v1:{u1}:p"
    assert layout.profile_key("a}b") == "up:v1:{a%7Db}:p"
    assert layout.encode_profile(7, '{"v":7}') == '7;{"v":7}'
    assert layout.decode_profile(b'7;{"v":7}') == (7, '{"v":7}')
    with pytest.raises(ValueError):
        layout.decode_profile("{}")
