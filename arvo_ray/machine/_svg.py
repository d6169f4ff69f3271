"""Draw a machine as a static SVG, in pure Python, so it displays without a browser library.

What lives here: a small layered ("Sugiyama") layout, the routing of arrows, and the SVG text.
What does not: which arrows exist and what they say (``_mermaid.edges_from`` decides, so both
drawings agree), and anything that needs a font, a browser or the network.

Each compound or parallel state is a container laid out on its own, then sized and placed as
one box in its parent's layout. Inside a container, states are ranked by their longest path
from the initial state, so final states come last and arrows run left to right (those that
close a cycle run back). Every arrow gets a label node of its own in the column next to its
source, and a pass-through node in each further column it spans; an arrow that crosses a
container's border also gets a part inside that container, ending at the border. Ordering
columns by barycenters reduces crossings; vertical positions come from an order-keeping
least-squares fit toward neighbours. Because labels are nodes of the layout, no two labels
overlap, every arrow runs through its own label, and arrows bend only in the gaps between
columns, never across a label.
Text widths are estimates (no font metrics): labels use a monospace font, which keeps them
exact enough. The output depends only on the tree, so the same machine gives the same SVG.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from ._mermaid import DiagramEdge, edges_from
from ._node import NodeTree, StateNode

__all__ = ["Diagram", "EdgeRoute", "Rect", "StartMarker", "StateBox", "layout", "to_svg"]

BoxKind = Literal["atomic", "final", "compound", "parallel", "region", "history"]
_ItemKind = Literal["state", "start", "entry", "exit", "label", "virtual"]
Point = tuple[float, float]

NAME_SIZE = 13.0
NAME_CHAR = 7.8  # generous for a sans-serif font: a box a bit wide beats clipped text
LABEL_SIZE = 11.0
LABEL_CHAR = 6.7  # monospace: 0.6em plus a margin
LINE_HEIGHT = 14.0
LABEL_PAD = 4.0
BOX_HEIGHT = 32.0
BOX_PAD_X = 14.0
MIN_BOX_WIDTH = 60.0
HISTORY_SIZE = 28.0
START_RADIUS = 5.0
TITLE_HEIGHT = 24.0
CONTAINER_PAD = 14.0
ITEM_GAP = 10.0
VIRTUAL_HEIGHT = 6.0
MIN_LAYER_GAP = 26.0
MAX_LAYER_GAP = 72.0
LOOP_HEIGHT = 16.0
MARGIN = 16.0
ARROW_LENGTH = 8.0
ARROW_HALF_WIDTH = 4.0
PORT_SPACING = 9.0
ORDER_SWEEPS = 8
POSITION_SWEEPS = 12
STRAIGHTEN = 8.0
_BENDS = ("label", "virtual")

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SANS = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"
_MONO = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace"
_INK = "#1f2637"
_LINE = "#6b7385"
_STROKE = "#5b6b8c"
_SOFT_STROKE = "#9aa6c0"


@dataclass(frozen=True)
class Rect:
    """An axis-aligned box in SVG user units (y grows downward)."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def center(self) -> Point:
        return (self.x + self.width / 2, self.y + self.height / 2)

    def overlaps(self, other: Rect) -> bool:
        """True if the interiors intersect (touching edges do not count)."""
        return (
            self.x < other.right
            and other.x < self.right
            and self.y < other.bottom
            and other.y < self.bottom
        )


@dataclass(frozen=True)
class StateBox:
    """Where one state is drawn: ``id`` is the node id, ``name`` the text shown (key, H or H*)."""

    id: str
    name: str
    kind: BoxKind
    rect: Rect


@dataclass(frozen=True)
class EdgeRoute:
    """One merged arrow: its label lines, the label's box, the SVG path and the arrowhead."""

    source: str
    target: str
    lines: tuple[str, ...]
    label: Rect
    path: str
    arrow: tuple[Point, Point, Point]


@dataclass(frozen=True)
class StartMarker:
    """The filled dot and arrow that point at a container's initial state."""

    target: str
    dot: Point
    path: str
    arrow: tuple[Point, Point, Point]


@dataclass(frozen=True)
class Diagram:
    """The finished layout: what :func:`to_svg` draws, and what tests measure."""

    title: str
    width: float
    height: float
    boxes: tuple[StateBox, ...]
    edges: tuple[EdgeRoute, ...]
    starts: tuple[StartMarker, ...]


# ---------------------------------------------------------------------------- text measures


def _text_width(text: str, char_width: float) -> float:
    # East Asian wide characters take about two columns.
    columns = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return columns * char_width


def _label_size(lines: Sequence[str]) -> tuple[float, float]:
    if not lines:
        return 0.0, 0.0
    width = max(_text_width(line, LABEL_CHAR) for line in lines) + 2 * LABEL_PAD
    return width, len(lines) * LINE_HEIGHT + LABEL_PAD


def _box_kind(node: StateNode) -> BoxKind:
    if node.is_history:
        return "history"
    if node.states:
        if node.is_parallel:
            return "parallel"
        parent = node.parent
        return "region" if parent is not None and parent.is_parallel else "compound"
    return "final" if node.is_final else "atomic"


def _leaf_size(node: StateNode, arrows: int) -> tuple[float, float]:
    """A box wide enough for its name, and tall enough to keep ``arrows`` on one side apart."""
    if node.is_history:
        return HISTORY_SIZE, HISTORY_SIZE
    width = _text_width(node.key, NAME_CHAR) + 2 * BOX_PAD_X
    height = max(BOX_HEIGHT, PORT_SPACING * (arrows - 1) + 2 * PORT_SPACING)
    return max(width, MIN_BOX_WIDTH), height


# ---------------------------------------------------------------------------- layout graph


class _Item:
    """A node of one container's layered graph: a state, a marker, a label or a bend point."""

    __slots__ = ("height", "kind", "layer", "node", "reserve", "uid", "width", "x", "y")

    def __init__(
        self,
        uid: int,
        kind: _ItemKind,
        width: float,
        height: float,
        node: StateNode | None = None,
    ) -> None:
        self.uid = uid
        self.kind = kind
        self.width = width
        self.height = height
        self.node = node
        self.reserve = 0.0  # room above a state's box for its self-loop label
        self.layer = 0
        self.x = 0.0  # centre, relative to the container's content origin
        self.y = 0.0


@dataclass
class _Link:
    """One arrow, or the part of it inside one container, with ends in left-to-right order."""

    head: _Item
    tail: _Item
    edge: DiagramEdge | None  # None for the initial-state arrow
    labelled: bool  # the part in the arrow's home container carries its label
    reversed: bool  # drawn from tail to head: a back edge, laid out forwards


@dataclass
class _Chain:
    """A link's items across the columns: head, then its label or bends, then tail."""

    link: _Link
    items: list[_Item]


@dataclass
class _Content:
    """A container's children after layout, in coordinates relative to its own origin."""

    layers: list[list[_Item]]
    layer_x: list[float]
    layer_width: list[float]
    chains: list[_Chain]
    width: float
    height: float


class _Graph:
    """One container's layered graph, built up item by item and link by link."""

    def __init__(self) -> None:
        self.items: list[_Item] = []
        self.links: list[_Link] = []

    def add(
        self,
        kind: _ItemKind,
        width: float,
        height: float,
        node: StateNode | None = None,
    ) -> _Item:
        item = _Item(len(self.items), kind, width, height, node)
        self.items.append(item)
        return item


def _back_links(items: Sequence[_Item], pairs: Sequence[tuple[_Item, _Item]]) -> set[int]:
    """Indexes of the pairs that close a cycle, found by a depth-first search in item order."""
    outgoing: dict[int, list[tuple[int, _Item]]] = {item.uid: [] for item in items}
    for index, (head, tail) in enumerate(pairs):
        outgoing[head.uid].append((index, tail))
    state: dict[int, int] = {}  # 1 on the stack, 2 done
    back: set[int] = set()
    for root in items:
        if root.uid in state:
            continue
        state[root.uid] = 1
        stack: list[tuple[_Item, int]] = [(root, 0)]
        while stack:
            item, position = stack[-1]
            if position == len(outgoing[item.uid]):
                state[item.uid] = 2
                stack.pop()
                continue
            stack[-1] = (item, position + 1)
            index, tail = outgoing[item.uid][position]
            seen = state.get(tail.uid)
            if seen == 1:
                back.add(index)
            elif seen is None:
                state[tail.uid] = 1
                stack.append((tail, 0))
    return back


def _rank(items: Sequence[_Item], links: Sequence[_Link]) -> None:
    """Put each item one rank past its furthest predecessor, so every link points rightward."""
    incoming = {item.uid: 0 for item in items}
    outgoing: dict[int, list[_Item]] = {item.uid: [] for item in items}
    for link in links:
        incoming[link.tail.uid] += 1
        outgoing[link.head.uid].append(link.tail)
    rank = {item.uid: 0 for item in items}
    ready = [item for item in items if incoming[item.uid] == 0]
    while ready:
        item = ready.pop(0)
        for tail in outgoing[item.uid]:
            rank[tail.uid] = max(rank[tail.uid], rank[item.uid] + 1)
            incoming[tail.uid] -= 1
            if incoming[tail.uid] == 0:
                ready.append(tail)
    last = max((rank[item.uid] for item in items if item.kind != "exit"), default=0)
    for item in items:
        # A right-border item stands for the container's right side: it takes the last column.
        item.layer = 2 * (last + 1 if item.kind == "exit" else rank[item.uid])


def _chains(graph: _Graph) -> list[_Chain]:
    """Give each link a label item beside its real source, and a bend item in other columns."""
    _rank(graph.items, graph.links)
    chains: list[_Chain] = []
    for link in graph.links:
        lines = link.edge.labels if link.edge is not None and link.labelled else ()
        label_layer = link.tail.layer - 1 if link.reversed else link.head.layer + 1
        middle: list[_Item] = []
        for layer in range(link.head.layer + 1, link.tail.layer):
            if layer == label_layer and lines:
                width, height = _label_size(lines)
                item = graph.add("label", width, height)
            else:
                item = graph.add("virtual", 0.0, VIRTUAL_HEIGHT)
            item.layer = layer
            middle.append(item)
        chains.append(_Chain(link, [link.head, *middle, link.tail]))
    return chains


def _layers(items: Sequence[_Item]) -> list[list[_Item]]:
    count = max((item.layer for item in items), default=0) + 1
    layers: list[list[_Item]] = [[] for _ in range(count)]
    for item in items:
        layers[item.layer].append(item)
    return layers


def _neighbours(chains: Sequence[_Chain]) -> tuple[dict[int, list[_Item]], dict[int, list[_Item]]]:
    left: dict[int, list[_Item]] = {}
    right: dict[int, list[_Item]] = {}
    for chain in chains:
        for a, b in pairwise(chain.items):
            right.setdefault(a.uid, []).append(b)
            left.setdefault(b.uid, []).append(a)
    return left, right


def _crossings(layers: Sequence[Sequence[_Item]], chains: Sequence[_Chain]) -> int:
    position = {item.uid: index for layer in layers for index, item in enumerate(layer)}
    by_gap: dict[int, list[tuple[int, int]]] = {}
    for chain in chains:
        for a, b in pairwise(chain.items):
            by_gap.setdefault(a.layer, []).append((position[a.uid], position[b.uid]))
    total = 0
    for segments in by_gap.values():
        for index, (a1, b1) in enumerate(segments):
            total += sum(1 for a2, b2 in segments[index + 1 :] if (a1 - a2) * (b1 - b2) < 0)
    return total


def _barycenter_sort(
    layer: list[_Item], reference: Sequence[_Item], neighbours: dict[int, list[_Item]]
) -> list[_Item]:
    position = {item.uid: index for index, item in enumerate(reference)}

    def key(pair: tuple[int, _Item]) -> float:
        index, item = pair
        linked = [position[n.uid] for n in neighbours.get(item.uid, ()) if n.uid in position]
        return sum(linked) / len(linked) if linked else float(index)

    return [item for _, item in sorted(enumerate(layer), key=key)]


def _order(layers: list[list[_Item]], chains: Sequence[_Chain]) -> list[list[_Item]]:
    """Reorder columns by barycenters, sweeping both ways; keep the fewest crossings seen."""
    left, right = _neighbours(chains)
    best = [list(layer) for layer in layers]
    best_count = _crossings(best, chains)
    for sweep in range(ORDER_SWEEPS):
        if sweep % 2 == 0:
            for index in range(1, len(layers)):
                layers[index] = _barycenter_sort(layers[index], layers[index - 1], left)
        else:
            for index in range(len(layers) - 2, -1, -1):
                layers[index] = _barycenter_sort(layers[index], layers[index + 1], right)
        count = _crossings(layers, chains)
        if count < best_count:
            best, best_count = [list(layer) for layer in layers], count
    return best


def _isotonic(values: Sequence[float]) -> list[float]:
    """The non-decreasing sequence closest to ``values`` in least squares (pool adjacent)."""
    blocks: list[list[float]] = []  # [sum, count]
    for value in values:
        blocks.append([value, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    result: list[float] = []
    for total, count in blocks:
        result.extend([total / count] * int(count))
    return result


def _pack(desired: Sequence[float], sizes: Sequence[float]) -> list[float]:
    """Centres as near ``desired`` as possible, keeping order and a gap between neighbours."""
    if not sizes:
        return []
    offsets = [0.0]
    for before, after in pairwise(sizes):
        offsets.append(offsets[-1] + (before + after) / 2 + ITEM_GAP)
    shifted = _isotonic([want - offset for want, offset in zip(desired, offsets, strict=True)])
    return [value + offset for value, offset in zip(shifted, offsets, strict=True)]


def _place_rows(layers: Sequence[Sequence[_Item]], chains: Sequence[_Chain]) -> None:
    """Vertical centres: each item drawn toward its neighbours, sweeping until it settles."""
    left, right = _neighbours(chains)
    for layer in layers:
        _settle(layer, [0.0] * len(layer))
    for sweep in range(POSITION_SWEEPS):
        # First one side at a time (like the ordering sweeps), then both sides together.
        sides: tuple[dict[int, list[_Item]], ...] = (left,) if sweep % 2 == 0 else (right,)
        if sweep >= POSITION_SWEEPS // 2:
            sides = (left, right)
        order = layers if sweep % 2 == 0 else list(reversed(layers))
        for layer in order:
            _settle(layer, [_pull(item, sides) for item in layer])
    top = min((item.y - item.height / 2 for layer in layers for item in layer), default=0.0)
    for layer in layers:
        for item in layer:
            item.y -= top


def _settle(layer: Sequence[_Item], desired: Sequence[float]) -> None:
    for item, y in zip(layer, _pack(desired, [i.height for i in layer]), strict=True):
        item.y = y


def _pull(item: _Item, sides: Sequence[dict[int, list[_Item]]]) -> float:
    """Where an item's neighbours want it: their mean height, bends weighing more.

    Two bend or label items of one arrow pull each other hard, so a long arrow runs level
    instead of wobbling toward every state it passes.
    """
    total = weight = 0.0
    for side in sides:
        for other in side.get(item.uid, ()):
            strength = STRAIGHTEN if item.kind in _BENDS and other.kind in _BENDS else 1.0
            total += strength * other.y
            weight += strength
    return total / weight if weight else item.y


def _place_columns(content: _Content) -> None:
    """Column widths, and gaps that widen where arrows must climb far."""
    climbs: dict[int, float] = {}
    for chain in content.chains:
        for a, b in pairwise(chain.items):
            climbs[a.layer] = max(climbs.get(a.layer, 0.0), abs(a.y - b.y))
    x = 0.0
    for index, layer in enumerate(content.layers):
        width = max((item.width for item in layer), default=0.0)
        content.layer_x.append(x)
        content.layer_width.append(width)
        for item in layer:
            item.x = x + width / 2
        gap = min(max(MIN_LAYER_GAP, 0.3 * climbs.get(index, 0.0)), MAX_LAYER_GAP)
        x += width + (gap if index < len(content.layers) - 1 else 0.0)
    content.width = x
    content.height = max((item.y + item.height / 2 for item in _all(content)), default=0.0)


def _all(content: _Content) -> Iterable[_Item]:
    return (item for layer in content.layers for item in layer)


# ---------------------------------------------------------------------------- the layouter

Side = Literal["left", "right"]


def _lifted(node: StateNode, container: StateNode) -> StateNode:
    """The child of ``container`` that is ``node`` or holds it."""
    while node.parent is not container:
        assert node.parent is not None
        node = node.parent
    return node


def _home(edge: DiagramEdge) -> StateNode:
    """The container whose layout carries ``edge``'s label: the innermost holding both ends."""
    source, target = edge.source, edge.target
    if target in source.ancestor_set:
        return target
    if source in target.ancestor_set:
        return source
    return next(node for node in source.proper_ancestors if node in target.ancestor_set)


def _between(node: StateNode, home: StateNode) -> list[StateNode]:
    """The containers an arrow crosses from ``node`` out to ``home``, innermost first."""
    if node is home:
        return []
    return list(node.proper_ancestors[: node.proper_ancestors.index(home)])


def _inside(edge: DiagramEdge, node: StateNode) -> StateNode:
    """The end of ``edge`` that is ``node`` or lies within it."""
    source = edge.source
    return source if source is node or node in source.ancestor_set else edge.target


@dataclass(frozen=True)
class _Passage:
    """An arrow crossing a container's border on its way between home and one of its ends."""

    edge: DiagramEdge
    leaving: bool  # the end inside is the arrow's source
    side: Side


class _Layouter:
    """Measures states innermost first, deciding arrow directions outermost first, then places."""

    def __init__(self, tree: NodeTree) -> None:
        self.tree = tree
        # Root transitions apply in every state; the root is the canvas, not a box to leave.
        self.edges = [
            edge for node in tree.nodes if node is not tree.root for edge in edges_from(node)
        ]
        self.loops: dict[StateNode, DiagramEdge] = {}
        self.homed: dict[StateNode, list[DiagramEdge]] = {}
        for edge in self.edges:
            if edge.source is edge.target:
                self.loops[edge.source] = edge
            else:
                self.homed.setdefault(_home(edge), []).append(edge)
        # Arrows that will likely share a side of a box (left: arriving, right: leaving).
        self.arrows_in = dict.fromkeys(tree.nodes, 0)
        self.arrows_out = dict.fromkeys(tree.nodes, 0)
        for edge in self.edges:
            if edge.source is not edge.target:
                self.arrows_in[edge.target] += 1
                self.arrows_out[edge.source] += 1
        for node in tree.nodes:
            if node.initial is not None and not node.is_parallel:
                self.arrows_in[node.initial] += 1
        self.reversed: dict[int, bool] = {}  # by id(edge): drawn right to left at home
        self.passages: dict[StateNode, list[_Passage]] = {}
        self.borders: dict[tuple[StateNode, int], _Item] = {}  # (container, id(edge))
        self.parts: dict[int, dict[StateNode, _Chain]] = {}  # id(edge) -> container -> chain
        self.chains: list[tuple[StateNode, _Chain]] = []
        self.sizes: dict[StateNode, tuple[float, float]] = {}
        self.contents: dict[StateNode, _Content] = {}
        self.boxes: dict[StateNode, Rect] = {}
        self.origins: dict[StateNode, Point] = {}

    # -- measuring, innermost first

    def measure(self, node: StateNode) -> tuple[float, float]:
        if not node.states and node is not self.tree.root:
            arrows = max(self.arrows_in[node], self.arrows_out[node])
            size = _leaf_size(node, arrows)
        else:
            content = self.lay_out(node)
            self.contents[node] = content
            title = _text_width(node.key, NAME_CHAR) + 3 * NAME_CHAR
            width = max(content.width, title) + 2 * CONTAINER_PAD
            size = (width, TITLE_HEIGHT + content.height + CONTAINER_PAD)
        self.sizes[node] = size
        return size

    def decide(self, container: StateNode) -> None:
        """Settle which way each arrow homed here runs, before anything inside is laid out.

        The answer says through which side the arrow leaves and enters the boxes it passes,
        so the containers inside can route their part of it toward that side.
        """
        skeleton = _Graph()
        start = skeleton.add("start", 0.0, 0.0) if self.has_start(container) else None
        items = {child: skeleton.add("state", 0.0, 0.0) for child in container.states.values()}
        pairs: list[tuple[_Item, _Item]] = []
        if start is not None and container.initial is not None:
            pairs.append((start, items[container.initial]))
        between: list[tuple[int, DiagramEdge]] = []
        for edge in self.homed.get(container, ()):
            if container not in (edge.source, edge.target):
                head = items[_lifted(edge.source, container)]
                between.append((len(pairs), edge))
                pairs.append((head, items[_lifted(edge.target, container)]))
        back = _back_links(skeleton.items, pairs)
        for index, edge in between:
            self.reversed[id(edge)] = index in back
        for edge in self.homed.get(container, ()):
            backward = self.reversed.setdefault(id(edge), False)
            out_side: Side = "left" if backward else "right"
            in_side: Side = "right" if backward else "left"
            for inner in _between(edge.source, container):
                self.passages.setdefault(inner, []).append(_Passage(edge, True, out_side))
            for inner in _between(edge.target, container):
                self.passages.setdefault(inner, []).append(_Passage(edge, False, in_side))

    def has_start(self, container: StateNode) -> bool:
        return container.initial is not None and not container.is_parallel

    def lay_out(self, container: StateNode) -> _Content:
        self.decide(container)
        graph = _Graph()
        start = None
        if self.has_start(container):
            start = graph.add("start", 2 * START_RADIUS, 2 * START_RADIUS)
        members = {child: self.member(graph, child) for child in container.states.values()}
        if start is not None and container.initial is not None:
            graph.links.append(_Link(start, members[container.initial], None, False, False))
        for edge in self.homed.get(container, ()):
            graph.links.append(self.home_link(graph, members, container, edge))
        for passage in self.passages.get(container, ()):
            graph.links.append(self.passage_link(graph, members, container, passage))
        chains = _chains(graph)
        for chain in chains:
            self.chains.append((container, chain))
            if chain.link.edge is not None:
                self.parts.setdefault(id(chain.link.edge), {})[container] = chain
        layers = _order(_layers(graph.items), chains)
        _place_rows(layers, chains)
        content = _Content(layers, [], [], chains, 0.0, 0.0)
        _place_columns(content)
        return content

    def member(self, graph: _Graph, child: StateNode) -> _Item:
        """A child state's item, with room above its box for a self-loop and its label."""
        width, height = self.measure(child)
        item = graph.add("state", width, height, node=child)
        loop = self.loops.get(child)
        if loop is not None:
            label_width, label_height = _label_size(loop.labels)
            item.reserve = label_height + LOOP_HEIGHT
            item.width = max(width, label_width)
            item.height += item.reserve
        return item

    def home_link(
        self,
        graph: _Graph,
        members: dict[StateNode, _Item],
        container: StateNode,
        edge: DiagramEdge,
    ) -> _Link:
        # An arrow from or to the container itself meets its border through a border item.
        if edge.source is container:
            head = graph.add("entry", 0.0, VIRTUAL_HEIGHT)
        else:
            head = members[_lifted(edge.source, container)]
        if edge.target is container:
            tail = graph.add("exit", 0.0, VIRTUAL_HEIGHT)
        else:
            tail = members[_lifted(edge.target, container)]
        backward = self.reversed[id(edge)]
        if backward:
            head, tail = tail, head
        return _Link(head, tail, edge, True, backward)

    def passage_link(
        self,
        graph: _Graph,
        members: dict[StateNode, _Item],
        container: StateNode,
        passage: _Passage,
    ) -> _Link:
        edge = passage.edge
        border = graph.add("entry" if passage.side == "left" else "exit", 0.0, VIRTUAL_HEIGHT)
        self.borders[(container, id(edge))] = border
        inner = members[_lifted(edge.source if passage.leaving else edge.target, container)]
        # Drawn leftward when leaving through the left side or arriving through the right.
        backward = passage.leaving == (passage.side == "left")
        if passage.side == "left":
            return _Link(border, inner, edge, False, backward)
        return _Link(inner, border, edge, False, backward)

    # -- placing, outermost first

    def place(self, node: StateNode, x: float, y: float) -> None:
        width, height = self.sizes[node]
        self.boxes[node] = Rect(x, y, width, height)
        content = self.contents.get(node)
        if content is not None:
            self.place_content(node, (x + (width - content.width) / 2, y + TITLE_HEIGHT))

    def place_content(self, container: StateNode, origin: Point) -> None:
        self.origins[container] = origin
        for item in _all(self.contents[container]):
            if item.kind == "state" and item.node is not None:
                box_width, _ = self.sizes[item.node]
                top = origin[1] + item.y - item.height / 2 + item.reserve
                self.place(item.node, origin[0] + item.x - box_width / 2, top)

    def place_root(self) -> Rect:
        """The root is the canvas, not a box: no title band, just a margin around its content."""
        root = self.tree.root
        self.measure(root)
        content = self.contents[root]
        canvas = Rect(0.0, 0.0, content.width + 2 * MARGIN, content.height + 2 * MARGIN)
        self.boxes[root] = canvas
        self.place_content(root, (MARGIN, MARGIN))
        return canvas

    def centre(self, container: StateNode, item: _Item) -> Point:
        """An item's absolute centre (a state's box centre, below its self-loop room)."""
        ox, oy = self.origins[container]
        return ox + item.x, oy + item.y + item.reserve / 2

    def column(self, container: StateNode, item: _Item) -> tuple[float, float]:
        content = self.contents[container]
        left = self.origins[container][0] + content.layer_x[item.layer]
        return left, left + content.layer_width[item.layer]


# ---------------------------------------------------------------------------- routing


def _path(runs: Sequence[Sequence[Point]]) -> str:
    """Straight where level, an S-curve with level ends where the height changes."""
    parts: list[str] = []
    for run in runs:
        points = [run[0]]
        for point in run[1:]:
            if not _same(point, points[-1]):
                points.append(point)
        parts.append(f"M{_n(points[0][0])},{_n(points[0][1])}")
        for (x0, y0), (x1, y1) in pairwise(points):
            if abs(y0 - y1) < 0.05:
                parts.append(f"L{_n(x1)},{_n(y1)}")
            else:
                mid = (x0 + x1) / 2
                parts.append(f"C{_n(mid)},{_n(y0)} {_n(mid)},{_n(y1)} {_n(x1)},{_n(y1)}")
    return " ".join(parts)


def _same(a: Point, b: Point) -> bool:
    return abs(a[0] - b[0]) < 0.05 and abs(a[1] - b[1]) < 0.05


def _arrowhead(tip: Point, dx: float, dy: float) -> tuple[Point, Point, Point]:
    """A triangle pointing along the unit vector ``(dx, dy)`` with its point at ``tip``."""
    x, y = tip
    bx, by = x - dx * ARROW_LENGTH, y - dy * ARROW_LENGTH
    wx, wy = -dy * ARROW_HALF_WIDTH, dx * ARROW_HALF_WIDTH
    return tip, (bx + wx, by + wy), (bx - wx, by - wy)


def _end_item(chain: _Chain, end: int) -> _Item:
    """The chain's left (``end`` 0) or right (``end`` 1) end, in layout order."""
    return chain.items[0] if end == 0 else chain.items[-1]


def _final_direction(runs: Sequence[Sequence[Point]]) -> float:
    """+1 if the path ends heading right, -1 if left (paths always end level)."""
    last = runs[-1]
    tip = last[-1]
    before = next((p for p in reversed(last) if abs(p[0] - tip[0]) > 0.5), None)
    return 1.0 if before is None or before[0] < tip[0] else -1.0


class _Router:
    """Turns placed chains into paths, spreading the arrows that share one side of a box."""

    def __init__(self, layouter: _Layouter) -> None:
        self.layouter = layouter
        self.port_y: dict[tuple[int, int], float] = {}  # (id(chain), end) -> height

    def own_end(self, chain: _Chain, end: int) -> StateNode | None:
        """The state at this end if the arrow starts or stops on its box (not deeper in it)."""
        item = _end_item(chain, end)
        if item.kind != "state" or item.node is None:
            return None
        edge = chain.link.edge
        if edge is None or _inside(edge, item.node) is item.node:
            return item.node
        return None

    def spread_ports(self) -> None:
        """Arrows on one side of a box get distinct heights, ordered like where they go."""
        users: dict[tuple[StateNode, int], list[tuple[float, int, _Chain]]] = {}
        for container, chain in self.layouter.chains:
            for end in (0, 1):
                node = self.own_end(chain, end)
                if node is not None:
                    next_item = chain.items[1] if end == 0 else chain.items[-2]
                    toward = self.layouter.centre(container, next_item)[1]
                    found = users.setdefault((node, end), [])
                    found.append((toward, len(found), chain))
        for (node, end), found in users.items():
            box = self.layouter.boxes[node]
            found.sort(key=lambda user: (user[0], user[1]))
            spacing = min(PORT_SPACING, (box.height - 8) / max(len(found) - 1, 1))
            for rank, (_, _, chain) in enumerate(found):
                offset = (rank - (len(found) - 1) / 2) * spacing
                self.port_y[(id(chain), end)] = box.center[1] + offset

    def runs(self, container: StateNode, chain: _Chain) -> tuple[list[list[Point]], Rect | None]:
        """The chain's path pieces in drawing order, and its label's box if it has one."""
        layouter = self.layouter
        runs: list[list[Point]] = [self.attach(container, chain, 0)]
        label = None
        for item in chain.items[1:-1]:
            x0, x1 = layouter.column(container, item)
            _, y = layouter.centre(container, item)
            if item.kind == "label":
                # The path leaves a gap exactly the label's size: the label sits on its arrow.
                label = Rect(
                    (x0 + x1 - item.width) / 2, y - item.height / 2, item.width, item.height
                )
                runs[-1].extend([(x0, y), (label.x, y)])
                runs.append([(label.right, y), (x1, y)])
            else:
                runs[-1].extend([(x0, y), (x1, y)])
        runs[-1].extend(reversed(self.attach(container, chain, 1)))
        if chain.link.reversed:
            runs = [list(reversed(run)) for run in reversed(runs)]
        return runs, label

    def attach(self, container: StateNode, chain: _Chain, end: int) -> list[Point]:
        """From where the chain meets its end item to the edge of that item's column."""
        layouter = self.layouter
        item = _end_item(chain, end)
        left, right = layouter.column(container, item)
        column_edge = right if end == 0 else left
        cx, cy = layouter.centre(container, item)
        if item.kind == "start":
            return [(cx + START_RADIUS, cy), (column_edge, cy)]
        if item.kind in ("entry", "exit"):
            box = layouter.boxes[container]
            return [(box.x if item.kind == "entry" else box.right, cy), (column_edge, cy)]
        assert item.node is not None
        box = layouter.boxes[item.node]
        side_x = box.right if end == 0 else box.x
        if self.own_end(chain, end) is not None:
            y = self.port_y[(id(chain), end)]
        else:
            # The arrow comes from deeper inside: meet its inner part where it crosses the border.
            assert chain.link.edge is not None
            border = layouter.borders[(item.node, id(chain.link.edge))]
            y = layouter.centre(item.node, border)[1]
        return [(side_x, y), (column_edge, y)]

    def edge(self, edge: DiagramEdge) -> EdgeRoute:
        """The whole arrow: its parts from the source outward, at home, then inward."""
        home = _home(edge)
        order = [*_between(edge.source, home), home, *reversed(_between(edge.target, home))]
        runs: list[list[Point]] = []
        label = Rect(0.0, 0.0, 0.0, 0.0)
        for container in order:
            part, found = self.runs(container, self.layouter.parts[id(edge)][container])
            label = found or label
            if runs:
                runs[-1].extend(part[0])
                runs.extend(part[1:])
            else:
                runs = part
        arrow = _arrowhead(runs[-1][-1], _final_direction(runs), 0.0)
        return EdgeRoute(edge.source.id, edge.target.id, edge.labels, label, _path(runs), arrow)

    def start(self, container: StateNode, chain: _Chain) -> StartMarker:
        runs, _ = self.runs(container, chain)
        target = chain.items[-1].node
        assert target is not None
        dot = self.layouter.centre(container, chain.items[0])
        return StartMarker(target.id, dot, _path(runs), _arrowhead(runs[-1][-1], 1.0, 0.0))


def _loop_route(box: Rect, edge: DiagramEdge) -> EdgeRoute:
    """A self-transition: an arc over the box's top, its label above the arc."""
    width, height = _label_size(edge.labels)
    cx, top = box.center[0], box.y
    spread = min(box.width / 4, 14.0)
    pull = (LOOP_HEIGHT - 2) / 0.75  # a cubic with both controls at `pull` peaks at 3/4 of it
    path = (
        f"M{_n(cx - spread)},{_n(top)} C{_n(cx - spread)},{_n(top - pull)} "
        f"{_n(cx + spread)},{_n(top - pull)} {_n(cx + spread)},{_n(top)}"
    )
    label = Rect(cx - width / 2, top - LOOP_HEIGHT - height, width, height)
    arrow = _arrowhead((cx + spread, top), 0.0, 1.0)
    return EdgeRoute(edge.source.id, edge.target.id, edge.labels, label, path, arrow)


def _shown_name(node: StateNode) -> str:
    if node.is_history:
        return "H*" if node.history == "deep" else "H"
    return node.key


def layout(tree: NodeTree) -> Diagram:
    """Lay out the node tree: every box, arrow, label and initial marker, in SVG units."""
    layouter = _Layouter(tree)
    canvas = layouter.place_root()
    router = _Router(layouter)
    router.spread_ports()
    routes = tuple(
        _loop_route(layouter.boxes[edge.source], edge)
        if edge.source is edge.target
        else router.edge(edge)
        for edge in layouter.edges
    )
    starts = tuple(
        router.start(container, chain)
        for container, chain in layouter.chains
        if chain.link.edge is None
    )
    boxes = tuple(
        StateBox(node.id, _shown_name(node), _box_kind(node), layouter.boxes[node])
        for node in tree.nodes
        if node is not tree.root
    )
    return Diagram(tree.machine_id, canvas.width, canvas.height, boxes, routes, starts)


# ---------------------------------------------------------------------------- SVG text


def _n(value: float) -> str:
    text = f"{value:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return "0" if text == "-0" else text


def _escape(text: str) -> str:
    """XML-escape text for content and double-quoted attributes; drop characters XML forbids."""
    text = _INVALID_XML.sub("", text)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _rect(rect: Rect, css: str, fill: str, stroke: str, extra: str = "", radius: float = 8) -> str:
    return (
        f'<rect class="{css}" x="{_n(rect.x)}" y="{_n(rect.y)}" width="{_n(rect.width)}" '
        f'height="{_n(rect.height)}" rx="{_n(radius)}" fill="{fill}" stroke="{stroke}"{extra}/>'
    )


def _text(x: float, y: float, text: str, anchor: str = "middle", weight: str = "normal") -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-family="{_SANS}" '
        f'font-size="{_n(NAME_SIZE)}" font-weight="{weight}" fill="{_INK}">{_escape(text)}</text>'
    )


def _draw_container(box: StateBox) -> list[str]:
    rect = box.rect
    if box.kind == "region":
        shape = _rect(rect, "state region", "none", _SOFT_STROKE, ' stroke-dasharray="5 3"')
    else:
        shape = _rect(rect, f"state {box.kind}", "#f7f8fc", _SOFT_STROKE, ' stroke-width="1.2"')
    # U+2225 (parallel to) marks a parallel state: its regions are all active at once.
    title = f"{box.name}  \u2225" if box.kind == "parallel" else box.name
    title_text = _text(rect.x + 10, rect.y + 16, title, "start", "600")
    return [f'<g data-state="{_escape(box.id)}">', shape, title_text, "</g>"]


def _draw_leaf(box: StateBox) -> list[str]:
    rect = box.rect
    cx, cy = rect.center
    if box.kind == "history":
        shape = (
            f'<circle class="state history" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(rect.width / 2)}" '
            f'fill="#ffffff" stroke="{_STROKE}" stroke-width="1.2"/>'
        )
    else:
        shape = _rect(rect, f"state {box.kind}", "#eef2fb", _STROKE, ' stroke-width="1.2"')
    parts = [f'<g data-state="{_escape(box.id)}">', shape]
    if box.kind == "final":
        inner = Rect(rect.x + 3, rect.y + 3, rect.width - 6, rect.height - 6)
        parts.append(_rect(inner, "final-ring", "none", _STROKE, "", 6))
    parts.extend([_text(cx, cy + NAME_SIZE * 0.35, box.name), "</g>"])
    return parts


def _draw_label(route: EdgeRoute) -> str:
    rect = route.label
    cx = rect.center[0]
    spans = "".join(
        f'<tspan x="{_n(cx)}" y="{_n(rect.y + LABEL_PAD / 2 + LINE_HEIGHT * (i + 0.75))}">'
        f"{_escape(line)}</tspan>"
        for i, line in enumerate(route.lines)
    )
    return (
        f'<text class="label" text-anchor="middle" font-family="{_MONO}" '
        f'font-size="{_n(LABEL_SIZE)}" fill="#2b3245">{spans}</text>'
    )


def _draw_arrow(path: str, arrow: Iterable[Point], css: str, data: str = "") -> list[str]:
    points = " ".join(f"{_n(x)},{_n(y)}" for x, y in arrow)
    return [
        f'<path class="{css}"{data} d="{path}" fill="none" stroke="{_LINE}" stroke-width="1.3"/>',
        f'<polygon class="arrow" points="{points}" fill="{_LINE}"/>',
    ]


def render(diagram: Diagram) -> str:
    """The SVG document for a finished layout: containers, arrows, states, then labels on top."""
    width, height = _n(diagram.width), _n(diagram.height)
    title = _escape(diagram.title)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{title}">',
        f"<title>{title}</title>",
        f'<rect class="background" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    leaves = [box for box in diagram.boxes if box.kind in ("atomic", "final", "history")]
    for box in diagram.boxes:
        if box not in leaves:
            parts.extend(_draw_container(box))
    for start in diagram.starts:
        parts.extend(_draw_arrow(start.path, start.arrow, "initial"))
    for route in diagram.edges:
        data = f' data-source="{_escape(route.source)}" data-target="{_escape(route.target)}"'
        parts.extend(_draw_arrow(route.path, route.arrow, "edge", data))
    for box in leaves:
        parts.extend(_draw_leaf(box))
    for start in diagram.starts:
        x, y = start.dot
        parts.append(
            f'<circle class="start" cx="{_n(x)}" cy="{_n(y)}" '
            f'r="{_n(START_RADIUS)}" fill="{_INK}"/>'
        )
    parts.extend(_draw_label(route) for route in diagram.edges if route.lines)
    parts.append("</svg>")
    return "\n".join(parts)


def to_svg(tree: NodeTree) -> str:
    """Render the node tree as a standalone SVG document (deterministic, no external links)."""
    return render(layout(tree))
