"""Machines draw themselves as Mermaid ``stateDiagram-v2``."""

from __future__ import annotations

from arvo_ray.machine import create_machine


def _machine() -> object:
    return create_machine(
        {
            "id": "order",
            "initial": "fetch",
            "states": {
                "fetch": {
                    "on": {
                        "evt.fetch.success": {"target": "work", "guard": "has_value"},
                        "sys.error": "failed",
                        "PING": {"actions": []},
                    }
                },
                "work": {
                    "type": "parallel",
                    "onDone": "done",
                    "states": {
                        "a": {
                            "initial": "a1",
                            "states": {"a1": {"on": {"A": "a2"}}, "a2": {"type": "final"}},
                        },
                        "b": {
                            "initial": "b1",
                            "states": {"b1": {"always": "b2"}, "b2": {"type": "final"}},
                        },
                        "hist": {"type": "history", "history": "deep"},
                    },
                },
                "done": {"type": "final"},
                "failed": {"type": "final"},
            },
        },
        guards={"has_value": lambda a: True},
    )


def test_should_draw_states_transitions_initial_and_final_markers() -> None:
    """States, labelled transitions, ``[*]`` initial/final markers all appear."""
    text = _machine().to_mermaid()  # type: ignore[attr-defined]
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == "stateDiagram-v2"
    for expected in (
        "[*] --> order_fetch",
        'state "fetch" as order_fetch',
        "order_fetch --> order_work : evt.fetch.success [has_value]",
        "order_fetch --> order_failed : sys.error",
        "order_work --> order_done : done",
        "order_work_b_b1 --> order_work_b_b2 : always",
        "order_done --> [*]",
        'state "H*" as order_work_hist',
    ):
        assert expected in lines, expected
    assert not any("PING" in line for line in lines), "targetless transitions are not drawn"


def test_should_separate_parallel_regions_and_nest_compound_states() -> None:
    """Parallel regions are separated by ``--`` inside their composite state."""
    lines = [line.strip() for line in _machine().to_mermaid().splitlines()]  # type: ignore[attr-defined]
    start = lines.index("state order_work {")
    assert lines[start:].index("--") > 0
    assert lines.count("{") == 0 and sum(line.endswith("{") for line in lines) == 3
    assert sum(line == "}" for line in lines) == 3


def test_should_lay_the_diagram_out_left_to_right() -> None:
    """The second line picks ``direction LR``: long event names fit along horizontal arrows."""
    lines = _machine().to_mermaid().splitlines()  # type: ignore[attr-defined]
    assert lines[:2] == ["stateDiagram-v2", "    direction LR"]


def test_should_sanitise_ids_that_mermaid_cannot_use() -> None:
    """Ids with dots, dashes or reserved words become safe identifiers."""
    machine = create_machine(
        {"id": "my-machine", "initial": "a", "states": {"a": {"id": "end", "on": {"X:Y": "#end"}}}}
    )
    text = machine.to_mermaid()
    assert 'state "a" as end_' in text
    assert "end_ --> end_ : X Y" in text
