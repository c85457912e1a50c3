"""Cross-language golden vectors: what the Python implementation computes, for the JVM to match.

The JVM per-event path (``jvm/``, package ``io.userpulse.flink``) must fold events into tiles and
profiles exactly as :mod:`userpulse.tiles`, :mod:`userpulse.tilestate`, :mod:`userpulse.profile`
and :mod:`userpulse.sketch` do, and encode tiles exactly as
:func:`userpulse.layout.encode_tile`. This
module builds seeded event sequences (in order, out of order, late within the allowed lateness,
duplicate event ids, many distinct items, awkward floats, huge dwell, sessions merged by late
events, revivals from stored profiles, expiry until the state is freed) and records what Python
produces. The output is committed under ``jvm/src/test/resources/``; JUnit replays it through the
Java code (``VectorsTest`` classes), and ``tests/unit/test_jvm_vectors.py`` checks that the
committed files equal a fresh generation, so a Python change cannot silently diverge.

Regenerate after a deliberate change of the Python semantics::

    .venv/bin/python -m tests.unit.jvm_vectors jvm/src/test/resources

Vector files (JSON; times are UTC epoch ms; a string longer than ``INLINE_MAX`` characters
(:mod:`tests.unit.jvm_vectors_base`) is replaced by ``"sha256:<hex of its UTF-8 bytes>"``, to
keep the files small):

- ``vectors/tilestate.json``: ``cases`` of ``ops``. ``{"op": "event", "event": {...}, "wm": ms,
  "revive": stored profile JSON or null (present only when the user has no state: revive first),
  "expect": {"touched": [[tile_ms, index, encoded tile], ...], "cleanup": ms or null,
  "profile": record JSON, "premerged": {"as_of": T, "fields": the pre-merged fields as of T
  (:mod:`userpulse.premerge`) as lines ``"<field>=<value>\n"`` (``m`` first, then the windows
  by tile size), "refresh": ms or null}}}`` and ``{"op": "expire", "wm": ms, "expect":
  {"dropped": {"<tile_ms>": [indices ascending]}, "next": ms or null (null: state freed),
  "tiles": every tile held after the expiry as lines ``"<tile_ms> <index> <encoded>\n"`` in
  ascending (tile_ms, index) order, concatenated}}``; ``{"op": "restore"}``: the job restarts
  without state (revive next).
- ``vectors/sketch.json``: ``hashes`` ([string, 32-bit hash]), ``kmv`` (hash sequences folded
  with a small k, and the sketch after each add), ``retention`` ([tile_ms, index, cleanup ms]).
- ``vectors/floats.json``: ``[[IEEE-754 bits as 16 hex digits, Python repr], ...]``.
- ``vectors/layout.json``: the store layout (:func:`layout_vectors`): keys of golden users, field
  names, the profile document's keys.
- ``spec/default.json``: :func:`userpulse.jvmspec.job_spec_json` of the default settings (no
  environment, no Redis credentials).
"""

from __future__ import annotations

import json
import math
import os
import random
import struct
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.unit.jvm_vectors_base import ALLOWED_LATENESS_MS, SEED, T0
from tests.unit.tilestate_vectors import tilestate_vectors
from userpulse import jvmspec, layout, sketch
from userpulse.settings import Settings
from userpulse.tilestate import Retention


def sketch_vectors() -> dict[str, Any]:
    """The ``vectors/sketch.json`` document."""
    rng = random.Random(SEED + 1)
    strings = ["", "a", "i9", "item-1", "item-2", "caf\u00e9", "\u65e5\u672c\u8a9e", "\U0001f600"]
    strings += ["\x00", "\ud800", "x" * 1_000, "\u00e9" * 64]
    strings += [f"item-{rng.randrange(10**9)}" for _ in range(40)]
    kmv: list[dict[str, Any]] = []
    last: list[int] = []
    for k in (1, 4, 16):
        seq = [rng.choice((rng.randrange(2**32), rng.randrange(64), 2**32 - 1)) for _ in range(60)]
        s: list[int] = []
        after = []
        for h in seq:
            sketch.add(s, h, k)
            after.append(list(s))
        kmv.append({"k": k, "adds": seq, "after": after})
        last = s
    ret = Retention(ALLOWED_LATENESS_MS)
    retention = [
        [g, k, ret.cleanup_ms(g, k)]
        for g in (1_000, 5_000, 60_000, 1_440_000)
        for k in (0, 1, 59, T0 // g, T0 // g + 1, -1, -T0 // g)
    ]
    return {
        "hashes": [[s, sketch.value_hash(s)] for s in strings],
        "kmv": kmv,
        "encoded": [[h, sketch.encode(h)] for h in ([], [0], [1, 2**32 - 1], last)],
        "retention": retention,
    }


def float_vectors() -> list[list[str]]:
    """The ``vectors/floats.json`` document: doubles and their Python ``repr``."""
    rng = random.Random(SEED + 2)
    xs = [0.0, -0.0, 1.0, -1.0, 0.1, 0.3, 0.1 + 0.2, 1e-4, 1e-5, 0.0001, 0.00012, 9.99e-05]
    xs += [1e15, 1e16, 1e17, 9_999_999_999_999_998.0, 123456789012345678.0, 1e22, 1e23, 1.5e300]
    xs += [5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 2.0**-44, 2.0**63, 2.0**64]
    xs += [math.inf, -math.inf, math.nan, 2.5e-07, 0.123456789012345, 100.0, 12345.678]
    xs += [2.0**k for k in range(-1074, 1024, 37)]
    xs += [round(rng.random(), rng.randrange(1, 17)) for _ in range(300)]
    xs += [rng.random() * 10.0 ** rng.randrange(-30, 30) for _ in range(300)]
    xs += [struct.unpack(">d", rng.randbytes(8))[0] for _ in range(600)]
    out = []
    for x in xs:
        bits = struct.pack(">d", x).hex()
        out.append([bits, repr(x)])
    return out


@contextmanager
def _no_userpulse_env() -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if k.startswith("USERPULSE_")}
    for k in saved:
        del os.environ[k]
    try:
        yield
    finally:
        os.environ.update(saved)


def spec_json() -> str:
    """The job spec of the default settings: no environment, no settings file, no Redis
    credentials (username and password null), pretty-printed."""
    with _no_userpulse_env():
        s = Settings(  # type: ignore[call-arg]
            _env_file=None, redis_credentials_dir=Path("/nonexistent/userpulse-credentials")
        )
        doc = json.loads(jvmspec.job_spec_json(s))
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


RUN_IDS = [["f" * 40], ["b" * 40, "a" * 40, "c" * 40], ["a" * 40, "a" * 40]]
LAYOUT_USERS = ["u1", "a}b{c%", "\u00f8", "}x", "{}", "%7D"]


def layout_vectors() -> dict[str, Any]:
    """The ``vectors/layout.json`` document: the store layout as :mod:`userpulse.layout` defines it
    (keys of the golden users, field names, the profile document's keys), which
    ``RedisLayoutVectorsTest.java`` checks the JVM constants and functions against."""
    return {
        "prefix": layout.PREFIX,
        "generation_key": layout.GENERATION_KEY,
        "run_key": layout.RUN_KEY,
        "run_records": [[ids, layout.run_record(ids)] for ids in RUN_IDS],
        "meta": {
            "last_seen": layout.META_LAST_SEEN,
            "generation": layout.META_GENERATION,
            "premerged": layout.META_PREMERGED,
        },
        "users": [[u, layout.user_key(u), layout.profile_key(u)] for u in LAYOUT_USERS],
        "tile_fields": [
            [g, i, layout.tile_field(g, i)] for g, i in ((1000, 1717243201), (5000, 0))
        ],
        "pruned_fields": [[g, layout.pruned_field(g)] for g in (1000, 1_440_000)],
        "profile_values": [[7, '{"v":7}', layout.encode_profile(7, '{"v":7}')]],
        "premerged_fields": [[w, layout.premerged_field(w)] for w in (60_000, 86_400_000)],
        "premerged_meta": [[7, 1717243200123, layout.encode_premerged_meta(7, 1717243200123)]],
        "profile_keys": {
            "counts": layout.PROFILE_COUNTS,
            "first_seen": layout.PROFILE_FIRST_SEEN,
            "last_seen": layout.PROFILE_LAST_SEEN,
            "last_k": layout.PROFILE_LAST_K,
            "session": layout.PROFILE_SESSION,
            "version": layout.PROFILE_VERSION,
            "revived_by": layout.PROFILE_REVIVED_BY,
            "base": layout.PROFILE_BASE,
        },
        "profile_key_order": list(layout.PROFILE_KEYS),
    }


def documents() -> dict[str, str]:
    """Every committed file, by path relative to ``jvm/src/test/resources``, as text."""

    def dump(doc: Any) -> str:
        return json.dumps(doc, indent=None, separators=(",", ":")) + "\n"

    return {
        "vectors/tilestate.json": dump(tilestate_vectors()),
        "vectors/sketch.json": dump(sketch_vectors()),
        "vectors/floats.json": dump(float_vectors()),
        "vectors/layout.json": dump(layout_vectors()),
        "spec/default.json": spec_json(),
    }


def main(argv: list[str]) -> int:
    """Write the documents under ``argv[0]`` (default ``jvm/src/test/resources``)."""
    root = Path(argv[0] if argv else "jvm/src/test/resources")
    for rel, text in documents().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"{path}: {len(text)} chars")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
