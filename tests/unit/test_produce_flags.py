"""Bad flags of `userpulse produce` fail at start, before any connection, naming the flag."""

from __future__ import annotations

from pathlib import Path

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


@pytest.mark.parametrize("cmd", [["synthetic"], ["replay", "otto"]])
def test_confluent_framing_without_a_registry(cmd: list[str]) -> None:
    res = CliRunner().invoke(app, ["produce", *cmd, "--framing", "confluent"], env=ENV)
    assert res.exit_code == 2, res.output
    assert "--framing" in res.output and "USERPULSE_SCHEMA_REGISTRY_URL" in res.output


def test_confluent_framing_setting_without_a_registry_fails_at_start() -> None:
    from pydantic import ValidationError

    from userpulse.settings import Settings

    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None, framing="confluent")  # type: ignore[call-arg]
    assert "framing=confluent needs a schema registry" in str(err.value)
    assert "USERPULSE_SCHEMA_REGISTRY_URL" in str(err.value)
    ok = Settings(_env_file=None, framing="confluent", registry=True)  # type: ignore[call-arg]
    assert ok.registry_url == "http://127.0.0.1:18085/apis/ccompat/v7"
    assert ok.value_subject == "userpulse.events-value"
    ext = Settings(  # type: ignore[call-arg]
        _env_file=None, framing="confluent", schema_registry_url="http://reg:8081/"
    )
    assert ext.registry_url == "http://reg:8081"
    with pytest.raises(ValidationError, match="http:// or https://"):
        Settings(_env_file=None, schema_registry_url="reg:8081")  # type: ignore[call-arg]


def test_a_bad_framing_setting_fails_through_the_cli() -> None:
    env = {**ENV, "USERPULSE_FRAMING": "confluent"}
    res = CliRunner().invoke(app, ["produce", "synthetic"], env=env)
    assert res.exit_code == 2, res.output
    assert "framing=confluent needs a schema registry" in res.output
    assert "Traceback" not in res.output


def test_producers_write_the_schema_dir_version(tmp_path: Path) -> None:
    """``schema_dir`` is the schema version a producer writes (single-object: its fingerprint)."""
    from tests.integration.registrykit import v2_schema_dir
    from userpulse.events import Event, EventType
    from userpulse.producers.kafka_out import EventSink
    from userpulse.schemas.codec import CURRENT, Decoder, encode, reader_schema
    from userpulse.settings import Settings

    v2 = reader_schema(v2_schema_dir(tmp_path))
    e = Event("e1", EventType.CLICK, "u1", 1_717_243_200_000, "s")
    sink = EventSink.for_settings(Settings(schema_dir=tmp_path / "schemas-v2"))
    value = sink.encoder(e)
    assert value[2:10] == v2.fingerprint != CURRENT.fingerprint
    assert Decoder(known=[v2]).decode(value) == e
    assert EventSink.for_settings(Settings()).encoder(e) == encode(e)  # default: this build's
