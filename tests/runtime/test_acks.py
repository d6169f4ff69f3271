"""PendingAcks: what a broker owes workflows, taken with their next step or once due."""

from __future__ import annotations

import pytest

from arvo_ray.runtime import _acks
from arvo_ray.runtime._acks import PendingAcks


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [100.0]
    monkeypatch.setattr(_acks.time, "monotonic", lambda: now[0])
    return now


def test_only_producers_that_waited_long_enough_are_due(clock: list[float]) -> None:
    acks = PendingAcks()
    acks.add("old", "e1")
    clock[0] += 5
    acks.add("young", "e2")
    acks.add("old", "e3")  # joins "old": its time stays that of e1
    clock[0] += 2
    assert acks.due(older_than=6) == {"old": ["e1", "e3"]}
    assert acks.due(older_than=6) == {}
    assert acks.ids("young") == {"e2"}
    clock[0] += 4
    assert acks.due(older_than=6) == {"young": ["e2"]}


def test_ids_given_back_wait_again_from_when_they_were_given_back(clock: list[float]) -> None:
    acks = PendingAcks()
    acks.add("a", "e1")
    acks.add("b", "e2")
    clock[0] += 10
    taken = acks.take("a")  # a step carried them, then wrote nothing
    acks.restore("a", taken)
    acks.add("c", "e3")
    assert acks.due(older_than=5) == {"b": ["e2"]}
    clock[0] += 5
    assert acks.due(older_than=5) == {"a": ["e1"], "c": ["e3"]}
    assert acks.take("a") == []
