"""bench.run.stack_ready: the bench's start-up health check retries before it gives up."""

from __future__ import annotations

import pytest

from bench.run import stack_ready


def _probe(answers: list[bool]):  # type: ignore[no-untyped-def]
    calls: list[bool] = []

    def probe() -> bool:
        calls.append(answers[len(calls)])
        return calls[-1]

    return probe, calls


def test_a_late_healthy_answer_is_waited_for() -> None:
    probe, calls = _probe([False, False, True])
    pauses: list[float] = []
    assert stack_ready(probe, attempts=3, pause_s=1.5, sleep=pauses.append) is True
    assert calls == [False, False, True]
    assert pauses == [1.5, 1.5]


def test_gives_up_after_the_attempts_without_a_last_pause() -> None:
    probe, calls = _probe([False] * 4)
    pauses: list[float] = []
    assert stack_ready(probe, attempts=4, pause_s=0.5, sleep=pauses.append) is False
    assert len(calls) == 4
    assert pauses == [0.5, 0.5, 0.5]


def test_healthy_at_once_does_not_wait() -> None:
    probe, calls = _probe([True])
    pauses: list[float] = []
    assert stack_ready(probe, sleep=pauses.append) is True
    assert calls == [True] and pauses == []


def test_attempts_below_one_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="attempts must be >= 1, got 0"):
        stack_ready(lambda: True, attempts=0)
