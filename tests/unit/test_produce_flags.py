"""Bad flags of `userpulse produce` fail at start, before any connection, naming the flag."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from userpulse.cli import app

# port 9 (discard) on loopback: nothing answers, so reaching Kafka would fail differently
ENV = {
    "USERPULSE_BOOTSTRAP_SERVERS": "127.0.0.1:9",
    "USERPULSE_SETTINGS_FILE": "/nonexistent",
    "COLUMNS": "200",  # rich wraps error boxes at the terminal width
}


@pytest.mark.parametrize(
    ("args", "flag", "text"),
    [
        (["--profile", "wobble"], "--profile", "unknown profile"),
        (["--profile", "diurnal:60:2"], "--profile", "AMPLITUDE"),
        (["--burst", "1:2"], "--burst", "EVERY_S:LENGTH_S:FACTOR"),
        (["--late", "1.5"], "--late", "fraction"),
        (["--late", "0.6", "--malformed", "0.6"], "--malformed", "> 1"),
        (["--processes", "0"], "--processes", "1.."),
        (["--processes", "3", "--users", "2"], "--processes", "<= --users"),
        (["--item-zipf", "-1"], "--item-zipf", ">= 0"),
    ],
)
def test_synthetic_bad_flag(args: list[str], flag: str, text: str) -> None:
    res = CliRunner().invoke(app, ["produce", "synthetic", *args], env=ENV)
    assert res.exit_code == 2, res.output
    assert flag in res.output and text in res.output


def test_replay_bad_copies() -> None:
    res = CliRunner().invoke(app, ["produce", "replay", "otto", "--copies", "0"], env=ENV)
    assert res.exit_code == 2 and "--copies" in res.output
