"""Machines display themselves: Mermaid for front ends that draw it, our own SVG for the rest."""

from __future__ import annotations

import doctest
import itertools
import random
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest

from arvo_ray.examples.number_domain import arithmetic_machine, number_modifier_machine
from arvo_ray.examples.number_domain.approval import approval_machine
from arvo_ray.machine import ArvoMachine, StateMachine, create_machine
from arvo_ray.machine._mermaid import edges_from
from arvo_ray.machine._node import NodeTree
from arvo_ray.machine._svg import Diagram, Rect, layout

SVG = "{http://www.w3.org/2000/svg}"
MIME_TYPES = {"text/vnd.mermaid", "image/svg+xml", "text/plain"}

NUMBER_DOMAIN: dict[str, Callable[[], ArvoMachine]] = {
    "increment-0.0.1": lambda: arithmetic_machine("increment", "0.0.1"),
    "increment-0.0.2": lambda: arithmetic_machine("increment", "0.0.2"),
    "decrement-0.0.1": lambda: arithmetic_machine("decrement", "0.0.1"),
    "decrement-0.0.2": lambda: arithmetic_machine("decrement", "0.0.2"),
    "modifier-0.0.1": lambda: number_modifier_machine("0.0.1"),
    "modifier-0.0.2": lambda: number_modifier_machine("0.0.2"),
    "approval-0.0.1": approval_machine,
}


def _nested() -> StateMachine:
    """Compound, parallel and history states, self-loops, back edges, arrows across borders."""
    return create_machine(
        {
            "id": "job",
            "initial": "idle",
            "states": {
                "idle": {"on": {"GO": "busy", "PING": "idle", "PEEK": "peek"}},
                "peek": {"on": {"BACK": "idle"}},
                "busy": {
                    "initial": "fetch",
                    "on": {"RESET": ".fetch", "CANCEL": "idle", "RESUME": "busy.hist"},
                    "states": {
                        "fetch": {"on": {"OK": "work", "FAIL": "#job.failed", "UP": "#job.busy"}},
                        "work": {
                            "type": "parallel",
                            "onDone": "store",
                            "states": {
                                "a": {
                                    "initial": "a1",
                                    "states": {"a1": {"on": {"A": "a2"}}, "a2": {"type": "final"}},
                                },
                                "b": {
                                    "initial": "b1",
                                    "states": {"b1": {"always": "b2"}, "b2": {"type": "final"}},
                                },
                            },
                        },
                        "store": {"on": {"RETRY": "fetch", "SAVE": "#job.done", "LOOP": "store"}},
                        "hist": {"type": "history", "history": "deep"},
                    },
                },
                "failed": {"on": {"RETRY": "busy.hist"}},
                "done": {"type": "final"},
            },
        }
    )


MACHINES: dict[str, Callable[[], Any]] = {**NUMBER_DOMAIN, "nested": _nested}


def _tree(machine: Any) -> NodeTree:
    logic = machine.logic if isinstance(machine, ArvoMachine) else machine
    tree: NodeTree = logic._tree
    return tree


def _merged_edges(tree: NodeTree) -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        (edge.source.id, edge.target.id, edge.labels)
        for node in tree.nodes
        if node is not tree.root
        for edge in edges_from(node)
    ]


def _classed(root: ET.Element, token: str) -> list[ET.Element]:
    return [el for el in root.iter() if token in (el.get("class") or "").split()]


def _parsed(machine: Any) -> ET.Element:
    return ET.fromstring(machine.to_svg())


# ------------------------------------------------------------------------- Jupyter display


def test_should_offer_mermaid_svg_and_plain_text_to_jupyter() -> None:
    """The bundle holds Mermaid (twice: as itself and as plain text) and the SVG drawing."""
    machine = _nested()
    bundle = machine._repr_mimebundle_()
    assert set(bundle) == MIME_TYPES
    assert bundle["text/vnd.mermaid"] == machine.to_mermaid()
    assert bundle["text/plain"] == machine.to_mermaid()
    assert bundle["image/svg+xml"] == machine.to_svg()


def test_should_display_an_arvo_machine_as_its_logic() -> None:
    """``ArvoMachine`` delegates ``to_svg``, ``to_mermaid`` and the bundle to its statechart."""
    machine = number_modifier_machine("0.0.2")
    assert machine._repr_mimebundle_() == machine.logic._repr_mimebundle_()
    assert machine.to_svg() == machine.logic.to_svg()
    assert machine.to_mermaid() == machine.logic.to_mermaid()


def test_should_honour_include_and_exclude() -> None:
    """Only the requested MIME types are rendered."""
    machine = _nested()
    assert set(machine._repr_mimebundle_(include={"image/svg+xml"})) == {"image/svg+xml"}
    assert set(machine._repr_mimebundle_(exclude={"image/svg+xml"})) == MIME_TYPES - {
        "image/svg+xml"
    }


def test_should_not_offer_a_markdown_fence_that_needs_a_script() -> None:
    """IPython formats a machine without ``text/markdown``, and plain text is Mermaid source."""
    formatters = pytest.importorskip("IPython.core.formatters")
    machine = number_modifier_machine("0.0.1")
    data, _ = formatters.DisplayFormatter().format(machine)
    assert set(data) == MIME_TYPES
    assert data["text/plain"].startswith("stateDiagram-v2")
    assert not hasattr(StateMachine, "_repr_markdown_")
    assert not hasattr(ArvoMachine, "_repr_markdown_")


# ------------------------------------------------------------------------- SVG content


@pytest.mark.parametrize("name", MACHINES)
def test_should_draw_one_box_per_state(name: str) -> None:
    """Every state but the root (the canvas) has exactly one shape, tagged with its id."""
    machine = MACHINES[name]()
    tree = _tree(machine)
    root = _parsed(machine)
    assert root.tag == f"{SVG}svg"
    shapes = _classed(root, "state")
    assert len(shapes) == len(tree.nodes) - 1
    groups = [el.get("data-state") for el in root.iter(f"{SVG}g") if el.get("data-state")]
    assert sorted(groups) == sorted(node.id for node in tree.nodes if node is not tree.root)


@pytest.mark.parametrize("name", MACHINES)
def test_should_draw_one_path_per_merged_edge(name: str) -> None:
    """Transitions between the same two states share one path, from source to target."""
    machine = MACHINES[name]()
    expected = [(source, target) for source, target, _ in _merged_edges(_tree(machine))]
    paths = _classed(_parsed(machine), "edge")
    assert [(p.get("data-source"), p.get("data-target")) for p in paths] == expected
    assert len(set(expected)) == len(expected)


@pytest.mark.parametrize("name", MACHINES)
def test_should_write_every_label_line(name: str) -> None:
    """Each transition's ``event [guard]`` text appears once per merged edge, in order."""
    machine = MACHINES[name]()
    expected = [line for *_, labels in _merged_edges(_tree(machine)) for line in labels]
    labels = _classed(_parsed(machine), "label")
    assert [span.text for text in labels for span in text] == expected


def test_should_label_guarded_transitions_with_the_guard() -> None:
    """A guarded transition reads ``event [guard]``; eventless ones read ``always``."""
    svg = number_modifier_machine("0.0.2").to_svg()
    assert ">arvo.orc.inc.done [guard]</tspan>" in svg
    assert ">always</tspan>" in svg


@pytest.mark.parametrize("name", MACHINES)
def test_should_keep_labels_apart(name: str) -> None:
    """No two labels overlap, no label covers a state, and all lie on the canvas."""
    diagram = layout(_tree(MACHINES[name]()))
    labels = [edge.label for edge in diagram.edges]
    for first, second in itertools.combinations(labels, 2):
        assert not first.overlaps(second), (first, second)
    leaves = [box.rect for box in diagram.boxes if box.kind in ("atomic", "final", "history")]
    for label, leaf in itertools.product(labels, leaves):
        assert not label.overlaps(leaf), (label, leaf)
    canvas = Rect(0, 0, diagram.width, diagram.height)
    assert all(_within(label, canvas) for label in labels)


@pytest.mark.parametrize("name", MACHINES)
def test_should_end_every_arrow_on_its_target(name: str) -> None:
    """Each arrowhead touches the border of its target's box (a self-loop: the top)."""
    diagram = layout(_tree(MACHINES[name]()))
    boxes = {box.id: box.rect for box in diagram.boxes}
    for edge in diagram.edges:
        (x, y), *_ = edge.arrow
        target = boxes[edge.target]
        if edge.source == edge.target:
            assert y == pytest.approx(target.y)
        else:
            assert min(abs(x - target.x), abs(x - target.right)) < 0.01, edge
            assert target.y <= y <= target.bottom, edge


def test_should_nest_children_inside_their_container() -> None:
    """Compound and parallel states contain their children's boxes; siblings never overlap."""
    machine = _nested()
    tree = _tree(machine)
    diagram = layout(tree)
    rects = {box.id: box.rect for box in diagram.boxes}
    for node in tree.nodes:
        if node.parent is not None and node.parent is not tree.root:
            assert _within(rects[node.id], rects[node.parent.id]), node.id
        siblings = [rects[child.id] for child in node.states.values()]
        for first, second in itertools.combinations(siblings, 2):
            assert not first.overlaps(second)
    kinds = {box.id: box.kind for box in diagram.boxes}
    assert kinds["job.busy"] == "compound"
    assert kinds["job.busy.work"] == "parallel"
    assert kinds["job.busy.work.a"] == "region"
    assert kinds["job.busy.hist"] == "history"


def test_should_mark_final_states_and_each_initial_state() -> None:
    """Final states get a double border; each compound's initial state a dot and an arrow."""
    machine = _nested()
    tree = _tree(machine)
    root = _parsed(machine)
    finals = [node for node in tree.nodes if node.is_final]
    assert len(_classed(root, "final-ring")) == len(finals)
    initials = sorted(
        node.initial.id for node in tree.nodes if node.initial is not None and not node.is_parallel
    )
    assert sorted(start.target for start in layout(tree).starts) == initials
    assert len(_classed(root, "start")) == len(_classed(root, "initial")) == len(initials)


def test_should_escape_markup_in_names_and_events() -> None:
    """``<``, ``&``, ``>`` and quotes in ids, state names and events survive as text."""
    machine = create_machine(
        {
            "id": 'm&"x"',
            "initial": "a<b&c>",
            "states": {"a<b&c>": {"on": {"A<&>B": "d'e"}}, "d'e": {"type": "final"}},
        }
    )
    svg = machine.to_svg()
    assert "a&lt;b&amp;c&gt;" in svg
    root = ET.fromstring(svg)
    texts = [el.text for el in root.iter() if el.text]
    assert "a<b&c>" in texts
    assert "A<&>B" in texts
    assert "d'e" in texts
    assert root.find(f"{SVG}title") is not None
    assert root.find(f"{SVG}title").text == 'm&"x"'  # type: ignore[union-attr]


def test_should_drop_characters_that_xml_forbids() -> None:
    """A control character in a name cannot break the document."""
    machine = create_machine({"id": "m", "initial": "a\x01b", "states": {"a\x01b": {}}})
    texts = [el.text for el in ET.fromstring(machine.to_svg()).iter() if el.text]
    assert "ab" in texts


@pytest.mark.parametrize("name", MACHINES)
def test_should_draw_the_same_svg_for_the_same_machine(name: str) -> None:
    """Two builds of one machine give byte-identical SVG."""
    assert MACHINES[name]().to_svg() == MACHINES[name]().to_svg()


def test_should_need_no_script_link_or_network() -> None:
    """The SVG is self-contained: no script, no link, no URL but the SVG namespace."""
    svg = number_modifier_machine("0.0.2").to_svg()
    assert "<script" not in svg
    assert "href" not in svg
    assert svg.count("http") == 1
    assert svg.count("http://www.w3.org/2000/svg") == 1


def test_should_draw_a_machine_without_states() -> None:
    """A machine with no states is an empty, valid drawing."""
    root = ET.fromstring(create_machine({"id": "empty"}).to_svg())
    assert _classed(root, "state") == []


def _random_states(rng: random.Random, prefix: str, ids: list[str], depth: int) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for index in range(rng.randint(1, 4)):
        key, roll = f"s{index}", rng.random()
        ids.append(f"{prefix}.{key}")
        if depth < 2 and roll < 0.35:
            children = _random_states(rng, f"{prefix}.{key}", ids, depth + 1)
            parallel = roll < 0.12
            states[key] = {"type": "parallel"} if parallel else {"initial": next(iter(children))}
            states[key]["states"] = children
        else:
            states[key] = {"type": "final"} if roll > 0.85 and depth == 0 else {}
    return states


def _random_machine(seed: int) -> StateMachine:
    """Nested states with random transitions anywhere (self, parent, child, across borders)."""
    rng = random.Random(seed)
    ids: list[str] = []
    states = _random_states(rng, "m", ids, 0)
    nodes = [states]
    while nodes:
        for config in nodes.pop().values():
            if config.get("type") != "final":
                targets = [rng.choice(ids) for _ in range(rng.randint(0, 3))]
                config["on"] = {f"E{i}": f"#{target}" for i, target in enumerate(targets)}
            if "states" in config:
                nodes.append(config["states"])
    return create_machine({"id": "m", "initial": next(iter(states)), "states": states})


@pytest.mark.parametrize("seed", range(25))
def test_should_keep_labels_apart_on_random_charts(seed: int) -> None:
    """Whatever the chart, labels never overlap and every arrow ends on its target."""
    diagram = layout(_tree(_random_machine(seed)))
    labels = [edge.label for edge in diagram.edges]
    for first, second in itertools.combinations(labels, 2):
        assert not first.overlaps(second), (first, second)
    boxes = {box.id: box.rect for box in diagram.boxes}
    for edge in diagram.edges:
        (x, y), *_ = edge.arrow
        target = boxes[edge.target]
        if edge.source != edge.target:
            assert min(abs(x - target.x), abs(x - target.right)) < 0.01, edge
            assert target.y - 0.01 <= y <= target.bottom + 0.01, edge


def _within(inner: Rect, outer: Rect) -> bool:
    return (
        inner.x >= outer.x - 0.01
        and inner.y >= outer.y - 0.01
        and inner.right <= outer.right + 0.01
        and inner.bottom <= outer.bottom + 0.01
    )


def test_should_expose_its_layout_as_frozen_values() -> None:
    """``layout`` returns plain frozen values, so callers and tests can measure the drawing."""
    diagram = layout(_tree(number_modifier_machine("0.0.2")))
    assert isinstance(diagram, Diagram)
    with pytest.raises(AttributeError):
        diagram.width = 0  # type: ignore[misc]


# ------------------------------------------------------------------------- Mermaid edges


@pytest.mark.parametrize("name", MACHINES)
def test_should_draw_each_pair_of_states_once_in_mermaid(name: str) -> None:
    """No two Mermaid arrows join the same two states."""
    arrows = [
        line.strip().split(" : ")[0]
        for line in MACHINES[name]().to_mermaid().splitlines()
        if " --> " in line and "[*]" not in line
    ]
    assert len(arrows) == len(set(arrows))


def test_should_join_the_labels_of_merged_mermaid_edges() -> None:
    """The modifier's two ways into ``error`` from ``init_value`` read as one two-line arrow."""
    lines = [line.strip() for line in number_modifier_machine("0.0.2").to_mermaid().splitlines()]
    assert (
        "machineV002_init_value --> machineV002_error : "
        "evt.value.write.success [guard]<br/>sys.com.value.write.error"
    ) in lines
    assert sum("--> machineV002_error" in line for line in lines) == 4


def test_should_merge_duplicate_guarded_transitions() -> None:
    """The same event and guard twice to one target is one line; an unguarded twin is another."""
    machine = create_machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "on": {
                        "GO": [
                            {"guard": "ok", "target": "b"},
                            {"guard": "ok", "target": "b"},
                            {"target": "b"},
                        ]
                    }
                },
                "b": {},
            },
        },
        guards={"ok": lambda _: True},
    )
    assert "m_a --> m_b : GO [ok]<br/>GO" in machine.to_mermaid()
    assert ">GO [ok]</tspan>" in machine.to_svg()


# ------------------------------------------------------------------------- documentation


@pytest.mark.parametrize("method", ["to_mermaid", "to_svg"])
def test_the_drawing_methods_examples_run(method: str) -> None:
    """The ``Example:`` sections of ``to_mermaid`` and ``to_svg`` are doctests that pass."""
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    globs = {"create_machine": create_machine}
    (test,) = finder.find(getattr(StateMachine, method), method, globs=globs)
    result = runner.run(test)
    assert result.attempted > 0
    assert result.failed == 0
