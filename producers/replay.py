"""Replay of real recorded interaction logs (EB-NeRD, Globo.com G1, OTTO) as events.

The logs are read in place from ``data_dir`` (default ``<repo>/../shared/data/real``; each
dataset's README.md there describes its files) and never copied. :func:`load_dataset` maps one
dataset to :class:`~userpulse.events.Event` objects sorted by ``(event_time_ms, event_id)``; it is
deterministic and is also what tests use to compute the offline reference. :func:`replay` sends
them, either as fast as possible or with the recorded event-time gaps divided by a speed factor.
The mapping of each dataset, with measured counts, is written down in ``docs/replay.md``.

All times are UTC epoch milliseconds. EB-NeRD stores ``impression_time`` without a time zone; it
is read as UTC (the local ``TZ`` never enters: timestamps are converted as integers).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console

from userpulse.errors import UserpulseError
from userpulse.events import MAX_USER_ID_BYTES, Event, EventType
from userpulse.producers.kafka_out import EventSink
from userpulse.producers.pacing import DEFAULT_MAX_SLEEP_S, RunSummary, pump, schedule

DATASETS = ("ebnerd", "globo", "otto")
EBNERD_DEVICES = {1: "desktop", 2: "mobile", 3: "tablet"}
"""EB-NeRD ``device_type`` codes as named by EB-NeRD's documentation (other codes stay digits)."""
_US_PER_UNIT = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 1}


class DatasetError(UserpulseError, ValueError):
    """A dataset name is unknown or its files are missing or malformed."""


@dataclass(frozen=True)
class Dataset:
    """Events mapped from one recorded log.

    Attributes:
        name: ``ebnerd``, ``globo`` or ``otto``.
        events: sorted by ``(event_time_ms, event_id)``.
        skipped: source records not mapped, by reason (for example ``otto carts``).
        files: the source files read.
    """

    name: str
    events: list[Event]
    skipped: dict[str, int] = field(default_factory=dict)
    files: tuple[Path, ...] = ()

    def counts(self) -> dict[str, int]:
        """Events per type name (``CLICK``, ``SCROLL``, ``HOVER``), all three present."""
        c = Counter(e.event_type.value for e in self.events)
        return {t.value: c.get(t.value, 0) for t in EventType}


def epoch_ms(column: pa.ChunkedArray | pa.Array) -> list[int]:
    """Timestamps (naive = UTC) as epoch ms, floored; nulls are not allowed.

    Args:
        column: an Arrow timestamp column of unit s, ms, us or ns.

    Returns:
        UTC epoch milliseconds, one per value (integer arithmetic: no float rounding).
    """
    unit = column.type.unit
    values = column.cast(pa.int64()).to_pylist()
    if unit == "ns":
        return [v // 1_000_000 for v in values]
    return [v * _US_PER_UNIT[unit] // 1_000 for v in values]


def _missing(x: float | None) -> bool:
    return x is None or math.isnan(x)


def _need(path: Path) -> Path:
    if not path.exists():
        raise DatasetError(f"{path} not found; pass the folder of the recorded logs as data_dir")
    return path


def _ebnerd_event(
    event_id: str,
    etype: EventType,
    ctx: tuple[str, int, str, str | None, str],
    item: str | None,
    dwell_ms: int | None = None,
    scroll_depth: float | None = None,
) -> Event:
    user, t_ms, session, device, surface = ctx
    return Event(
        event_id=event_id,
        event_type=etype,
        user_id=user,
        event_time_ms=t_ms,
        session_id=session,
        item_id=item,
        device=device,
        surface=surface,
        dwell_ms=dwell_ms,
        scroll_depth=scroll_depth,
    )


def _ebnerd_behaviors(path: Path, events: list[Event], skipped: Counter[str]) -> None:
    """Each impression: in view -> HOVER, clicked -> CLICK, scroll_percentage -> SCROLL."""
    b = pq.read_table(path)
    cols = {n: b.column(n).to_pylist() for n in b.column_names if n != "impression_time"}
    for row, t_ms in enumerate(epoch_ms(b.column("impression_time"))):
        page = cols["article_id"][row]
        code = cols["device_type"][row]
        ctx = (
            str(cols["user_id"][row]),
            t_ms,
            str(cols["session_id"][row]),
            None if code is None else EBNERD_DEVICES.get(code, str(code)),
            "front_page" if page is None else "article",
        )
        prefix = f"ebnerd:b{row:07d}"
        seq = 0  # order within the impression: in view, then clicks, then the scroll
        inview = cols["article_ids_inview"][row] or []
        read_time_s = cols["read_time"][row]
        if inview and _missing(read_time_s):
            skipped["ebnerd in-view without read_time"] += len(inview)
        elif inview:
            dwell_ms = round(read_time_s * 1000 / len(inview))
            for article in inview:
                eid = f"{prefix}:{seq:04d}:HOVER"
                events.append(_ebnerd_event(eid, EventType.HOVER, ctx, str(article), dwell_ms))
                seq += 1
        for article in cols["article_ids_clicked"][row] or []:
            events.append(
                _ebnerd_event(f"{prefix}:{seq:04d}:CLICK", EventType.CLICK, ctx, str(article))
            )
            seq += 1
        pct = cols["scroll_percentage"][row]
        if not _missing(pct):
            item = None if page is None else str(page)
            eid = f"{prefix}:{seq:04d}:SCROLL"
            events.append(_ebnerd_event(eid, EventType.SCROLL, ctx, item, scroll_depth=pct / 100))


_HISTORY_LISTS = (
    "impression_time_fixed",
    "article_id_fixed",
    "scroll_percentage_fixed",
    "read_time_fixed",
)


def _ebnerd_history(path: Path, events: list[Event], skipped: Counter[str]) -> None:
    """Each article read: CLICK (page view), SCROLL when recorded, HOVER with the read time."""
    h = pq.read_table(path)
    lists = {n: h.column(n).combine_chunks() for n in _HISTORY_LISTS}
    offsets = {n: a.offsets.to_pylist() for n, a in lists.items()}
    if len({tuple(o) for o in offsets.values()}) != 1 or any(a.null_count for a in lists.values()):
        raise DatasetError(f"{path}: the four *_fixed lists differ in length or are null")
    bounds = offsets["article_id_fixed"]
    times = epoch_ms(lists["impression_time_fixed"].values)
    articles = lists["article_id_fixed"].values.to_pylist()
    pcts = lists["scroll_percentage_fixed"].values.to_pylist()
    reads = lists["read_time_fixed"].values.to_pylist()
    for row, user_id in enumerate(h.column("user_id").to_pylist()):
        user = str(user_id)
        for k in range(bounds[row], bounds[row + 1]):
            t_ms, article, pct, read_s = times[k], articles[k], pcts[k], reads[k]
            # history has no session id: one per user and UTC day
            ctx = (user, t_ms, f"h{user}-{t_ms // 86_400_000}", None, "article")
            item = None if article is None else str(article)
            prefix = f"ebnerd:h{row:05d}.{k - bounds[row]:05d}"
            events.append(_ebnerd_event(f"{prefix}:0:CLICK", EventType.CLICK, ctx, item))
            if not _missing(pct):
                eid = f"{prefix}:1:SCROLL"
                events.append(
                    _ebnerd_event(eid, EventType.SCROLL, ctx, item, scroll_depth=pct / 100)
                )
            if _missing(read_s):
                skipped["ebnerd history read without read_time"] += 1
            else:
                eid = f"{prefix}:2:HOVER"
                events.append(_ebnerd_event(eid, EventType.HOVER, ctx, item, round(read_s * 1000)))


def _ebnerd(data_dir: Path) -> Dataset:
    """EB-NeRD: behaviors.parquet (impressions) and history.parquet (article reads)."""
    root = data_dir / "ebnerd-sample"
    b_path, h_path = _need(root / "behaviors.parquet"), _need(root / "history.parquet")
    events: list[Event] = []
    skipped: Counter[str] = Counter()
    _ebnerd_behaviors(b_path, events, skipped)
    _ebnerd_history(h_path, events, skipped)
    return Dataset("ebnerd", events, dict(skipped), (b_path, h_path))


def _globo(data_dir: Path) -> Dataset:
    """Globo.com G1 clicks: every row -> CLICK."""
    files = tuple(
        sorted(_need(data_dir / "globo-news-clicks" / "clicks").glob("clicks_hour_*.csv"))
    )
    if not files:
        raise DatasetError(f"no clicks_hour_*.csv under {data_dir / 'globo-news-clicks/clicks'}")
    usecols = ["user_id", "session_id", "click_article_id", "click_timestamp", "click_deviceGroup"]
    events: list[Event] = []
    for path in files:
        df = pd.read_csv(path, usecols=usecols, dtype="int64")
        columns = [df[c].tolist() for c in usecols]
        for row, (user, session, article, t_ms, device) in enumerate(zip(*columns, strict=True)):
            events.append(
                Event(
                    event_id=f"globo:{path.stem}:{row:06d}:0:CLICK",
                    event_type=EventType.CLICK,
                    user_id=str(user),
                    event_time_ms=t_ms,
                    session_id=str(session),
                    item_id=str(article),
                    device=str(device),
                )
            )
    return Dataset("globo", events, {}, files)


def _otto(data_dir: Path) -> Dataset:
    """OTTO sessions: ``clicks`` -> CLICK; ``carts`` / ``orders`` are skipped and counted."""
    path = _need(data_dir / "otto-recsys-sample" / "train.jsonl")
    events: list[Event] = []
    skipped: Counter[str] = Counter()
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh):
            if not line.strip():
                continue
            session = json.loads(line)
            user = str(session["session"])
            for idx, raw in enumerate(session["events"]):
                if raw["type"] != "clicks":
                    skipped[f"otto {raw['type']}"] += 1
                    continue
                events.append(
                    Event(
                        event_id=f"otto:{line_no:06d}:{idx:05d}:CLICK",
                        event_type=EventType.CLICK,
                        user_id=user,
                        event_time_ms=int(raw["ts"]),
                        session_id=user,
                        item_id=str(raw["aid"]),
                    )
                )
    return Dataset("otto", events, dict(skipped), (path,))


_LOADERS = {"ebnerd": _ebnerd, "globo": _globo, "otto": _otto}


def read_dataset(name: str, data_dir: Path | str | None = None) -> Dataset:
    """Map dataset ``name`` to events, with the skipped-record counts.

    Args:
        name: ``ebnerd``, ``globo`` or ``otto``.
        data_dir: folder holding ``ebnerd-sample/``, ``globo-news-clicks/``,
            ``otto-recsys-sample/`` (the CLI: ``--data-dir`` or the ``replay_data_dir``
            setting). There is no default: the logs are not part of the package.

    Raises:
        DatasetError: unknown name, no ``data_dir``, or missing files.
    """
    if name not in _LOADERS:
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if data_dir is None:
        raise DatasetError(
            f"no folder of recorded logs for {name!r}: pass --data-dir or set "
            "USERPULSE_REPLAY_DATA_DIR (the folder holding ebnerd-sample/, globo-news-clicks/, "
            "otto-recsys-sample/)"
        )
    data = _LOADERS[name](Path(data_dir))
    data.events.sort(key=lambda e: (e.event_time_ms, e.event_id))
    return data


def load_dataset(name: str, data_dir: Path | str | None = None) -> list[Event]:
    """Events of dataset ``name``, sorted by ``(event_time_ms, event_id)``.

    See :func:`read_dataset` for the arguments and errors; this drops the skipped counts.
    """
    return read_dataset(name, data_dir).events


COPY_SEPARATOR = "#"
"""Copies of a user are ``<user_id>#<copy>`` (see :func:`multiply`)."""


def multiply(events: Sequence[Event], copies: int, shift_ms: int = 1_000) -> list[Event]:
    """The population multiplied for load: ``copies`` disjoint copies of every user.

    Copy ``c`` (0-based) of an event has ``user_id`` ``<user_id>#<c>``, ``session_id``
    ``<session_id>#<c>``, ``event_id`` ``<event_id>#<c>`` and event time ``+ c * shift_ms``; items
    are unchanged. The result is sorted by ``(event_time_ms, event_id)`` like the input, so copies
    interleave. ``copies == 1`` returns the events unchanged (no suffix).

    Args:
        events: sorted events (for example :func:`load_dataset`).
        copies: number of copies (>= 1).
        shift_ms: event-time shift between consecutive copies, ms (>= 0).

    Raises:
        ValueError: ``copies`` < 1, ``shift_ms`` < 0, or a copied user id longer than 128 bytes.
    """
    if copies < 1:
        raise ValueError(f"copies must be >= 1, got {copies}")
    if shift_ms < 0:
        raise ValueError(f"shift_ms must be >= 0, got {shift_ms}")
    if copies == 1:
        return list(events)
    out: list[Event] = []
    for c in range(copies):
        tag, dt = f"{COPY_SEPARATOR}{c}", c * shift_ms
        for e in events:
            user = e.user_id + tag
            if len(user.encode("utf-8", "surrogatepass")) > MAX_USER_ID_BYTES:
                raise ValueError(f"copied user id {user!r} exceeds {MAX_USER_ID_BYTES} bytes")
            out.append(
                e.replace(
                    user_id=user,
                    session_id=e.session_id + tag,
                    event_id=e.event_id + tag,
                    event_time_ms=e.event_time_ms + dt,
                )
            )
    out.sort(key=lambda e: (e.event_time_ms, e.event_id))
    return out


def replay(
    sink: EventSink,
    events: Sequence[Event],
    speed: float | None,
    *,
    max_sleep_s: float = DEFAULT_MAX_SLEEP_S,
    progress: bool = True,
    source: str = "replay",
    skipped: dict[str, int] | None = None,
    console: Console | None = None,
) -> RunSummary:
    """Send ``events`` in order, at the recorded pace divided by ``speed`` or as fast as possible.

    Args:
        sink: where the events go.
        events: events to send (for example ``load_dataset(...)[:limit]``).
        speed: None / ``inf`` = as fast as possible; 1.0 = recorded pace; 10.0 = 10x faster.
        max_sleep_s: cap on each pause between consecutive events, seconds.
        progress: show live progress and print the summary at the end.
        source: label for progress and summary (``replay:<dataset>``).
        skipped: source records not mapped (from :class:`Dataset`), copied into the summary.
        console: rich console (default: a new stderr console).

    Raises:
        ValueError: ``speed`` <= 0 or ``max_sleep_s`` < 0.
    """
    timed = schedule(events, speed, max_sleep_s)
    out = (console or Console(stderr=True)) if progress else None
    summary = pump(
        sink,
        timed,
        source=source,
        total=len(events),
        target_rate_per_s=None,
        console=out,
        skipped=skipped,
    )
    if out is not None:
        out.print(summary.table())
    return summary
