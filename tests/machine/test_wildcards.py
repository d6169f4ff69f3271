"""Wildcard event descriptors and their priority (semantics point 8)."""

from __future__ import annotations

import pytest

from .conftest import drive, log, make, new_log


def _machine() -> object:
    return make(
        {
            "id": "m",
            "initial": "p",
            "context": {"log": []},
            "states": {
                "p": {
                    "initial": "s",
                    "on": {"parent.exact": {"actions": log("parent exact")}},
                    "states": {
                        "s": {
                            "on": {
                                "*": {"actions": log("*")},
                                "mouse.*": {"actions": log("mouse.*")},
                                "mouse.click.*": {"actions": log("mouse.click.*")},
                                "mouse.click": {
                                    "guard": lambda a: a.event.get("ok") is True,
                                    "actions": log("exact"),
                                },
                            }
                        }
                    },
                }
            },
        }
    )


@pytest.mark.parametrize(
    ("event", "handler"),
    [
        ({"type": "mouse.click", "ok": True}, "exact"),
        ({"type": "mouse.click", "ok": False}, "mouse.click.*"),
        ({"type": "mouse.click.left"}, "mouse.click.*"),
        ({"type": "mouse.move"}, "mouse.*"),
        ({"type": "mouse"}, "mouse.*"),
        ({"type": "mousepad"}, "*"),
        ({"type": "keyboard"}, "*"),
    ],
)
def test_should_prefer_exact_then_longer_partial_wildcards_then_star(
    event: dict[str, object], handler: str
) -> None:
    """Exact first, then partial wildcards (longer first), then ``*``; a failed exact guard
    falls through."""
    (start, _), (after, _) = drive(_machine(), [event])  # type: ignore[arg-type]
    assert new_log(start, after) == [handler]


def test_should_let_a_child_star_beat_the_parent_exact_handler() -> None:
    """Selection is innermost first, so a child's ``*`` wins over a parent's exact handler."""
    (start, _), (after, _) = drive(_machine(), ["parent.exact"])  # type: ignore[arg-type]
    assert new_log(start, after) == ["*"]


def test_should_match_done_events_with_star() -> None:
    """``*`` also matches internal events such as done events."""
    seen = []
    machine = make(
        {
            "id": "m",
            "initial": "p",
            "on": {"*": {"actions": lambda a: seen.append(a.event["type"])}},
            "states": {"p": {"initial": "f", "states": {"f": {"type": "final"}}}},
        }
    )
    machine.initial_transition()
    assert seen == ["xstate.done.state.m.p"]
