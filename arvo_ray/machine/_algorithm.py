"""The statechart algorithm as small functions named for SCXML steps, following XState v5.

Each function mirrors one function of XState's ``stateUtils.ts`` (same name in snake_case) so
it can be checked against it line by line; the docstrings note where XState departs from the
SCXML recommendation. Nothing here knows about snapshots as dicts (see ``_snapshot``) or about
definitions (see ``_node``): it moves a :class:`~arvo_ray.machine._run.Run` from one stable
configuration to the next.

Ordering notes that matter for exactness:

* ``run.nodes`` keeps XState's ``_nodes`` insertion order (entered nodes go to the end), and
  ``always`` transitions are selected leaf by leaf in that order;
* entry runs in document order, exit in reverse document order;
* event transitions are selected by walking the state value (region order = key order).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._constants import DONE_STATE_PREFIX
from ._errors import MachineLoopError
from ._node import UNSET as _UNSET
from ._snapshot import current_value
from ._types import ActionArgs

if TYPE_CHECKING:
    from ._node import NodeTree, StateNode, Transition
    from ._run import Run

__all__ = [
    "add_ancestor_states_to_enter",
    "add_descendant_states_to_enter",
    "compute_entry_set",
    "compute_exit_set",
    "effective_target_states",
    "enter_states",
    "exit_states",
    "find_lca",
    "is_descendant",
    "is_in_final_state",
    "macrostep",
    "microstep",
    "proper_ancestors",
    "remove_conflicting_transitions",
    "select_eventless_transitions",
    "select_transitions",
    "transition_domain",
]

History = Mapping[str, tuple["StateNode", ...]]
Event = Mapping[str, Any]

#: Entry sets are cached per transition tuple; parallel machines could in theory produce many
#: combinations, so the cache is bounded.
_ENTRY_CACHE_LIMIT = 4096


def is_descendant(node: StateNode, ancestor: StateNode | None) -> bool:
    """``node`` is strictly inside ``ancestor``; every node, the root too, is inside ``None``."""
    return ancestor is None or ancestor in node.ancestor_set


def proper_ancestors(node: StateNode, up_to: StateNode | None) -> list[StateNode]:
    """Ancestors of ``node``, nearest first, stopping before ``up_to`` (all of them if None)."""
    if up_to is node:
        return []
    result = []
    for ancestor in node.proper_ancestors:
        if ancestor is up_to:
            break
        result.append(ancestor)
    return result


def find_lca(nodes: Sequence[StateNode]) -> StateNode | None:
    """XState's ``findLeastCommonAncestor``: the nearest proper ancestor of ``nodes[0]`` that
    contains all the others, or ``None`` (when ``nodes[0]`` is the root)."""
    head, tail = nodes[0], nodes[1:]
    for ancestor in head.proper_ancestors:
        if all(ancestor in other.ancestor_set for other in tail):
            return ancestor
    return None


def effective_target_states(transition: Transition, history: History) -> tuple[StateNode, ...]:
    """Targets with history nodes replaced by what they restore (or their default)."""
    targets = transition.targets
    if not targets:
        return ()
    if not transition.has_history_target:
        return targets
    found: dict[StateNode, None] = {}
    _add_effective(targets, history, found)
    return tuple(found)


def _add_effective(
    targets: Iterable[StateNode], history: History, found: dict[StateNode, None]
) -> None:
    for target in targets:
        if target.is_history:
            recorded = history.get(target.id)
            if recorded:
                found.update(dict.fromkeys(recorded))
            else:
                _add_effective(target.history_targets, history, found)
        else:
            found[target] = None


def _root_of(node: StateNode) -> StateNode:
    return node.proper_ancestors[-1] if node.proper_ancestors else node


def transition_domain(transition: Transition, history: History) -> StateNode | None:
    """XState's ``getTransitionDomain``.

    Internal by default: if every target is the source or inside it (and ``reenter`` is not
    set), the domain is the source itself, so the source is neither exited nor re-entered.
    ``None`` means "above the root" (a ``reenter`` transition on the root exits the root too).
    """
    if not transition.has_history_target:
        cached = transition._domain
        if cached is not _UNSET:
            return cached  # type: ignore[no-any-return]
        domain = _compute_domain(transition, transition.targets or ())
        transition._domain = domain
        return domain
    return _compute_domain(transition, effective_target_states(transition, history))


def _compute_domain(transition: Transition, targets: Sequence[StateNode]) -> StateNode | None:
    source = transition.source
    if not transition.reenter and all(
        target is source or source in target.ancestor_set for target in targets
    ):
        return source
    lca = find_lca([*targets, source])
    if lca is not None:
        return lca
    if transition.reenter:
        return None
    return _root_of(source)


def compute_exit_set(
    transitions: Sequence[Transition], nodes: Mapping[StateNode, None], history: History
) -> list[StateNode]:
    """Active nodes inside each transition's domain (plus the source itself on ``reenter``).

    Targetless transitions exit nothing.
    """
    exit_set: dict[StateNode, None] = {}
    for transition in transitions:
        if not transition.targets:
            continue
        domain = transition_domain(transition, history)
        if domain is None:
            exit_set.update(nodes)
            continue
        if transition.reenter and transition.source is domain:
            exit_set[domain] = None
        for node in nodes:
            if domain in node.ancestor_set:
                exit_set[node] = None
    return list(exit_set)


def remove_conflicting_transitions(
    enabled: Sequence[Transition], nodes: Mapping[StateNode, None], history: History
) -> list[Transition]:
    """Keep a consistent subset: when two transitions exit a common state, a transition from
    a descendant source preempts one from its ancestor, otherwise the earlier one wins (so the
    first region wins in a parallel state). Targetless transitions never conflict."""
    if len(enabled) < 2:
        return list(enabled)
    filtered: dict[Transition, None] = {}
    exit_sets: dict[Transition, set[StateNode]] = {}

    def exits(transition: Transition) -> set[StateNode]:
        found = exit_sets.get(transition)
        if found is None:
            found = exit_sets[transition] = set(compute_exit_set([transition], nodes, history))
        return found

    for first in enabled:
        preempted = False
        to_remove = []
        for kept in filtered:
            if not exits(first).isdisjoint(exits(kept)):
                if kept.source in first.source.ancestor_set:
                    to_remove.append(kept)
                else:
                    preempted = True
                    break
        if not preempted:
            for kept in to_remove:
                del filtered[kept]
            filtered[first] = None
    return list(filtered)


class _EntrySet:
    """The accumulators of ``compute_entry_set`` (XState's statesToEnter and
    statesForDefaultEntry), plus whether history was read, which decides caching."""

    __slots__ = ("default_entry", "history", "to_enter", "used_history")

    def __init__(self, history: History) -> None:
        self.to_enter: dict[StateNode, None] = {}
        self.default_entry: set[StateNode] = set()
        self.history = history
        self.used_history = False


def compute_entry_set(
    transitions: Sequence[Transition], history: History, tree: NodeTree
) -> tuple[tuple[StateNode, ...], frozenset[StateNode]]:
    """The states to enter (sorted in document order) and those entered by default.

    "Default entry" states run their ``initial`` actions. Targeting a deep state enters its
    ancestors without default entry, so their initial children are not entered. The result
    depends only on the transitions and (when history nodes are involved) the history, so it
    is cached per transition tuple when no history was read.
    """
    key = tuple(transitions)
    cached = tree.entry_cache.get(key)
    if cached is not None:
        return cached
    acc = _EntrySet(history)
    for transition in transitions:
        if transition.has_history_target:
            acc.used_history = True
        domain = transition_domain(transition, history)
        source = transition.source
        for target in transition.targets or ():
            if not target.is_history and (
                source is not target or source is not domain or transition.reenter
            ):
                acc.to_enter[target] = None
                acc.default_entry.add(target)
            add_descendant_states_to_enter(target, acc)
        reentrancy_domain = None if source.parent is None and transition.reenter else domain
        for target in effective_target_states(transition, history):
            ancestors = proper_ancestors(target, domain)
            if domain is not None and domain.is_parallel:
                ancestors.append(domain)
            add_ancestor_states_to_enter(acc, ancestors, reentrancy_domain)
    result = (
        tuple(sorted(acc.to_enter, key=_order)),
        frozenset(acc.default_entry),
    )
    if not acc.used_history:
        if len(tree.entry_cache) >= _ENTRY_CACHE_LIMIT:
            tree.entry_cache.clear()
        tree.entry_cache[key] = result
    return result


def _order(node: StateNode) -> int:
    return node.order


def _reverse_order(node: StateNode) -> int:
    return -node.order


def _has_descendant_in(acc: _EntrySet, node: StateNode) -> bool:
    return any(node in entered.ancestor_set for entered in acc.to_enter)


def add_descendant_states_to_enter(node: StateNode, acc: _EntrySet) -> None:
    """Add what entering ``node`` implies below it: the initial child of a compound state,
    every region of a parallel state, or what a history node restores."""
    if node.is_history:
        acc.used_history = True
        recorded = acc.history.get(node.id)
        parent = node.parent
        if recorded:
            for restored in recorded:
                acc.to_enter[restored] = None
                add_descendant_states_to_enter(restored, acc)
            for restored in recorded:
                _add_proper_ancestor_states_to_enter(restored, parent, acc)
        else:
            for default in node.history_targets:
                acc.to_enter[default] = None
                if node.history_default_is_parent_initial and parent is not None:
                    acc.default_entry.add(parent)
                add_descendant_states_to_enter(default, acc)
            for default in node.history_targets:
                _add_proper_ancestor_states_to_enter(default, parent, acc)
    elif node.type == "compound":
        initial = node.initial
        if initial is None:
            return
        if not initial.is_history:
            acc.to_enter[initial] = None
            acc.default_entry.add(initial)
        add_descendant_states_to_enter(initial, acc)
        _add_proper_ancestor_states_to_enter(initial, node, acc)
    elif node.is_parallel:
        for child in node.children:
            if not _has_descendant_in(acc, child):
                acc.to_enter[child] = None
                acc.default_entry.add(child)
                add_descendant_states_to_enter(child, acc)


def add_ancestor_states_to_enter(
    acc: _EntrySet, ancestors: Sequence[StateNode], reentrancy_domain: StateNode | None
) -> None:
    """Enter the ancestors on the way to a target (those inside ``reentrancy_domain``) and
    the other regions of any parallel ancestor that nothing else enters."""
    for ancestor in ancestors:
        if reentrancy_domain is None or reentrancy_domain in ancestor.ancestor_set:
            acc.to_enter[ancestor] = None
        if ancestor.is_parallel:
            for child in ancestor.children:
                if not _has_descendant_in(acc, child):
                    acc.to_enter[child] = None
                    add_descendant_states_to_enter(child, acc)


def _add_proper_ancestor_states_to_enter(
    node: StateNode, up_to: StateNode | None, acc: _EntrySet
) -> None:
    add_ancestor_states_to_enter(acc, proper_ancestors(node, up_to), None)


def exit_states(
    run: Run,
    event: Event,
    transitions: Sequence[Transition],
    nodes: dict[StateNode, None],
    history: dict[str, tuple[StateNode, ...]],
) -> dict[str, tuple[StateNode, ...]]:
    """Record history, then run exit actions in reverse document order, removing each node.

    Returns the (possibly new) history mapping; a state with history children always yields
    a new mapping when exited, as in XState.
    """
    to_exit = compute_exit_set(transitions, nodes, history)
    if not to_exit:
        return history
    to_exit.sort(key=_reverse_order)
    changed: dict[str, tuple[StateNode, ...]] | None = None
    for node in to_exit:
        for history_node in node.history_children:
            if history_node.history == "deep":
                recorded = tuple(n for n in nodes if n.is_atomic and node in n.ancestor_set)
            else:
                recorded = tuple(n for n in nodes if n.parent is node)
            if changed is None:
                changed = dict(history)
            changed[history_node.id] = recorded
    for node in to_exit:
        for action in node.exit:
            action(run, event)
        nodes.pop(node, None)
    return changed if changed is not None else history


def is_in_final_state(nodes: Mapping[StateNode, None], node: StateNode) -> bool:
    """A compound state is final when a final child is active; a parallel state when every
    region is."""
    if node.type == "compound":
        return any(child.is_final and child in nodes for child in node.children)
    if node.is_parallel:
        return all(is_in_final_state(nodes, child) for child in node.children)
    return node.is_final


def _resolve_output(node: StateNode, context: Mapping[str, Any], event: Event) -> Any:
    output = node.output
    if callable(output):
        return output(ActionArgs(context, event, None))
    return output


def _done_event(node: StateNode, output: Any) -> dict[str, Any]:
    return {"type": f"{DONE_STATE_PREFIX}{node.id}", "output": output}


def machine_output(run: Run, tree: NodeTree, event: Event, completion: StateNode) -> Any:
    """The root ``output``, evaluated against the done event of the node that completed the
    machine (carrying a top-level final state's own output as ``event["output"]``)."""
    root = tree.root
    if not root.has_output:
        return None
    inner = (
        _resolve_output(completion, run.context, event)
        if completion.has_output and completion.parent is not None
        else None
    )
    return _resolve_output(root, run.context, _done_event(completion, inner))


def enter_states(
    run: Run,
    tree: NodeTree,
    event: Event,
    transitions: Sequence[Transition],
    nodes: dict[StateNode, None],
    history: History,
    is_initial: bool,
) -> None:
    """Enter states in document order, queue done events, and finish the machine when a
    top-level final state (or a completed parallel root) is entered.

    The machine output is computed at that moment, before the exit actions that finishing
    runs (see :func:`microstep`).
    """
    to_enter, default_entry = compute_entry_set(transitions, history, tree)
    if is_initial:
        default_entry = default_entry | {tree.root}
    completed: set[StateNode] = set()
    for node in to_enter:
        nodes[node] = None
        for action in node.entry:
            action(run, event)
        if node.initial_actions and node in default_entry:
            for action in node.initial_actions:
                action(run, event)
        if not node.is_final:
            continue
        parent = node.parent
        marker = (
            parent
            if parent is not None and parent.is_parallel
            else (parent.parent if parent is not None else None)
        )
        completion = marker or node
        if parent is not None and parent.type == "compound":
            output = _resolve_output(node, run.context, event) if node.has_output else None
            run.queue.append(_done_event(parent, output))
        while (
            marker is not None
            and marker.is_parallel
            and marker not in completed
            and is_in_final_state(nodes, marker)
        ):
            completed.add(marker)
            run.queue.append(_done_event(marker, None))
            completion = marker
            marker = marker.parent
        if marker is not None:
            continue
        run.output = machine_output(run, tree, event, completion)
        run.status = "done"
        run.version += 1


def microstep(
    run: Run,
    tree: NodeTree,
    transitions: Sequence[Transition],
    event: Event,
    is_initial: bool = False,
) -> None:
    """One SCXML microstep: exit, transition actions, enter; on finishing, exit everything.

    If the active set and the history did not change, the previous node order is kept (as
    XState keeps the previous snapshot's nodes), which matters for parallel region order.
    """
    if not transitions:
        return
    previous_nodes = run.nodes
    previous_history = run.history
    nodes = dict(previous_nodes)
    filtered = remove_conflicting_transitions(transitions, nodes, previous_history)
    history = previous_history
    if not is_initial:
        history = exit_states(run, event, filtered, nodes, history)
    for transition in filtered:
        for action in transition.actions:
            action(run, event)
    enter_states(run, tree, event, filtered, nodes, history, is_initial)
    if run.status == "done":
        ordered = sorted(nodes, key=_reverse_order)
        for node in ordered:
            for action in node.exit:
                action(run, event)
        nodes = dict.fromkeys(ordered)
    if history is previous_history and nodes.keys() == previous_nodes.keys():
        return
    run.nodes = nodes
    run.history = history
    run.value = None
    run.version += 1


def _next(node: StateNode, run: Run, event: Event, event_type: str) -> list[Transition] | None:
    for transition in node.candidates(event_type):
        guard = transition.guard
        if guard is None or guard(run, event):
            return [transition]
    return None


def _transition_node(
    node: StateNode, value: Any, run: Run, event: Event, event_type: str
) -> list[Transition] | None:
    if isinstance(value, str):
        found = _next(node.states[value], run, event, event_type)
        return found if found else _next(node, run, event, event_type)
    if len(value) == 1:
        for key, sub in value.items():
            found = _transition_node(node.states[key], sub, run, event, event_type)
            return found if found else _next(node, run, event, event_type)
    collected: list[Transition] = []
    for key, sub in value.items():
        if sub is None or sub == "":
            continue
        inner = _transition_node(node.states[key], sub, run, event, event_type)
        if inner:
            collected.extend(inner)
    return collected if collected else _next(node, run, event, event_type)


def select_transitions(run: Run, tree: NodeTree, event: Event) -> list[Transition]:
    """Pick the transitions an event enables, innermost first (XState's ``transitionNode``).

    In a parallel state each region picks its own; the parallel state's own handler is
    consulted only when no region took the event.
    """
    found = _transition_node(tree.root, current_value(run, tree.root), run, event, event["type"])
    return found or []


def select_eventless_transitions(run: Run, tree: NodeTree, event: Event) -> list[Transition]:
    """Pick enabled ``always`` transitions: every active leaf walks up on its own, taking the
    first enabled ``always`` transition on the way, so a region and its parallel parent can
    both fire. Guards see ``event``, the event that started this step."""
    enabled: dict[Transition, None] = {}
    for leaf in run.nodes:
        for node in leaf.always_chain:
            taken = None
            for transition in node.always or ():
                guard = transition.guard
                if guard is None or guard(run, event):
                    taken = transition
                    break
            if taken is not None:
                enabled[taken] = None
                break
    if not enabled:
        return []
    return remove_conflicting_transitions(list(enabled), run.nodes, run.history)


def macrostep(run: Run, tree: NodeTree, event: Event, *, is_init: bool = False) -> None:
    """Process one external event to a stable configuration.

    After the event's microstep, ``always`` transitions run until none is enabled, then the
    next internal event (raised or done) is taken, FIFO. ``always`` transitions are looked up
    again only if the last ``always`` microstep changed something (an assign, the active
    states, history or status), so a targetless ``always`` that only emits fires once.

    An event whose type is literally ``"*"`` is processed like any other (it matches only
    ``*`` descriptors), as in XState's production build; only its development build rejects it.

    Raises:
        MachineLoopError: More than ``tree.max_microsteps`` microsteps were needed.
    """
    next_event = event
    if not is_init:
        microstep(run, tree, select_transitions(run, tree, event), event)
    should_select_eventless = tree.has_always
    limit = tree.max_microsteps
    count = 0
    while run.status == "active":
        enabled = (
            select_eventless_transitions(run, tree, next_event) if should_select_eventless else []
        )
        from_always = bool(enabled)
        if not enabled:
            if not run.queue:
                break
            next_event = run.queue.popleft()
            enabled = select_transitions(run, tree, next_event)
        count += 1
        if count > limit:
            raise MachineLoopError(
                tree.machine_id,
                [t.source.id for t in enabled],
                str(next_event.get("type")),
                limit,
            )
        version = run.version
        microstep(run, tree, enabled, next_event)
        should_select_eventless = tree.has_always and (not from_always or run.version != version)
