"""Constants shared by the golden-vector generators (:mod:`tests.unit.jvm_vectors`,
:mod:`tests.unit.tilestate_vectors`): the seed, the job's lateness settings the vectors assume,
the length past which a string is stored as its hash, and the as-of offsets of the pre-merged
windows (ms)."""

SEED = 20261130
ALLOWED_LATENESS_MS = 600_000
"""The default ``allowed_lateness_ms`` (the JUnit side checks it against ``spec/default.json``)."""
OUT_OF_ORDERNESS_MS = 5_000
MIN_WATERMARK = -(2**63)
"""Flink's initial watermark (Long.MIN_VALUE): the profile's session horizon must not overflow."""
T0 = 1_764_460_800_000  # 2025-11-30T00:00:00Z
INLINE_MAX = 300
AS_OF_OFFSETS = (0, -30_000, 999, 45_000, 3_000_000)
"""Lookup times of the pre-merged vectors, after the event's time (ms): cycled per op."""
