"""bench.script_cost: MONITOR lines parsed back into the bytes the writer sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.script_cost import (
    TraceError,
    annotate_shares,
    batch_calls,
    main,
    parse_monitor_line,
    read_trace,
)


def test_a_monitor_line_gives_the_arguments_with_escapes_undone() -> None:
    line = (
        '1796228283.486440 [0 127.0.0.1:45586] "EVALSHA" "8279d1" "2" "up:v1:{u2}" '
        r'"268;{\"c\":{\"HOVER\":146}}" "a\\b" "\x00\xff" "tab\there" "" "end"'
    )
    assert parse_monitor_line(line) == [
        b"EVALSHA",
        b"8279d1",
        b"2",
        b"up:v1:{u2}",
        b'268;{"c":{"HOVER":146}}',
        b"a\\b",
        b"\x00\xff",
        b"tab\there",
        b"",
        b"end",
    ]


def test_a_client_address_with_brackets_or_quotes_in_arguments_does_not_confuse_it() -> None:
    line = '1.0 [0 lua] "HSET" "k" "] \\"x\\" ["'
    assert parse_monitor_line(line) == [b"HSET", b"k", b'] "x" [']


@pytest.mark.parametrize("line", ["OK", '1.0 [0 1.2.3.4:5] "GET" "unterminated'])
def test_lines_that_are_not_commands_are_named_in_the_error(line: str) -> None:
    with pytest.raises(TraceError, match="MONITOR|unterminated"):
        parse_monitor_line(line)


def test_a_trace_reads_back_as_bytes_up_to_the_limit(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    calls = [["2", "k1", "k2", "\x00\xe9"], ["2", "k3", "k4", "v"]]
    trace.write_text("".join(json.dumps(c) + "\n" for c in calls))
    assert list(read_trace(trace)) == [
        [b"2", b"k1", b"k2", b"\x00\xe9"],
        [b"2", b"k3", b"k4", b"v"],
    ]
    assert list(read_trace(trace, limit=1)) == [[b"2", b"k1", b"k2", b"\x00\xe9"]]
    trace.write_text('{"not": "a list"}\n')
    with pytest.raises(TraceError, match="t.jsonl:1"):
        list(read_trace(trace))


def test_annotate_shares_reads_shares_below_and_above_ten_percent() -> None:
    text = """\
11,523,520,955 (100.0%)  PROGRAM TOTALS
10,293,037,264 (89.32%)  ???:luaCallFunction [/usr/bin/redis-check-rdb]
   999,325,058 ( 8.67%)  ???:parseReply'2 [/usr/bin/redis-check-rdb]
 1,924,359,190 (16.70%)  ???:parseReply [/usr/bin/redis-check-rdb]
   644,025,912 ( 5.59%)  ./stdlib/./stdlib/strtod.c:strtod [/usr/lib/x86_64-linux-gnu/libc.so.6]
   366,395,068 ( 3.18%)  ???:hsetCommand [/usr/bin/redis-check-rdb]
"""
    assert annotate_shares(text) == {"luaCallFunction": 89.32, "parseReply": 16.70, "strtod": 5.59}


def test_batches_carry_every_call_s_keys_then_each_call_s_argument_count_and_arguments() -> None:
    calls = [[b"2", b"k1", b"p1", b"a", b"b"], [b"2", b"k2", b"p2", b"c"], [b"1", b"k3", b"d"]]
    assert list(batch_calls(calls, 2)) == [
        ([b"4", b"k1", b"p1", b"k2", b"p2", b"2", b"a", b"b", b"1", b"c"], 2),
        ([b"1", b"k3", b"1", b"d"], 1),
    ]
    assert list(batch_calls(calls, 1)) == [(c, 1) for c in calls]
    with pytest.raises(ValueError, match="batch size must be >= 1, got 0"):
        list(batch_calls(calls, 0))


def test_a_bad_batch_or_a_missing_trace_fails_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", "--trace", str(tmp_path / "none.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    trace = tmp_path / "t.jsonl"
    trace.write_text("[]\n")
    assert main(["replay", "--trace", str(trace), "--batch", "0"]) == 2
    assert "--batch must be >= 1, got 0" in capsys.readouterr().err
