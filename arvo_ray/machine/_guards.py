"""Guards: the combinators ``and_``, ``or_``, ``not_``, ``state_in`` and the guard compiler.

A guard in a config is a callable ``(ActionArgs) -> bool``, a name or ``{"type": name,
"params": ...}`` resolved against ``setup(guards=...)`` (whose entries may themselves be
callables, combinators or other names), or a combinator. At definition time each reference is
compiled into a :data:`CompiledGuard` closure ``(run, event) -> bool``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._snapshot import current_value, matches_state, to_state_value
from ._types import ActionArgs

if TYPE_CHECKING:
    from ._node import StateNode
    from ._run import Run

__all__ = [
    "CompiledGuard",
    "GuardCombinator",
    "GuardResolutionError",
    "and_",
    "compile_guard",
    "not_",
    "or_",
    "state_in",
]

CompiledGuard = Callable[["Run", Mapping[str, Any]], bool]
GuardRef = Any

_MAX_ALIAS_DEPTH = 32


class GuardResolutionError(Exception):
    """A guard reference could not be compiled (the builder turns it into a config problem).

    Attributes:
        reported: ``True`` when config validation already reports the same problem (unknown
            names, malformed references), so the builder need not repeat it.
    """

    def __init__(self, message: str, *, reported: bool = False) -> None:
        super().__init__(message)
        self.reported = reported


class GuardCombinator:
    """Base of the built-in higher-order guards."""

    __slots__ = ()

    def _children(self) -> Iterator[GuardRef]:
        return iter(())


class _Combined(GuardCombinator):
    """``and_`` (``reduce=all``) or ``or_`` (``reduce=any``) of a sequence of guards."""

    __slots__ = ("guards", "name", "reduce")

    def __init__(
        self, name: str, reduce: Callable[[Iterable[bool]], bool], guards: Sequence[GuardRef]
    ) -> None:
        self.name = name
        self.reduce = reduce
        self.guards = tuple(guards)

    def _children(self) -> Iterator[GuardRef]:
        return iter(self.guards)

    def __repr__(self) -> str:
        return f"{self.name}({list(self.guards)!r})"


class _Not(GuardCombinator):
    __slots__ = ("guard",)

    def __init__(self, guard: GuardRef) -> None:
        self.guard = guard

    def _children(self) -> Iterator[GuardRef]:
        yield self.guard

    def __repr__(self) -> str:
        return f"not_({self.guard!r})"


class _StateIn(GuardCombinator):
    __slots__ = ("state_value",)

    def __init__(self, state_value: str | Mapping[str, Any]) -> None:
        if not isinstance(state_value, str | Mapping):
            raise TypeError(
                "state_in() takes a state id ('#id'), a dotted path ('a.b') or a state value "
                f"dict; got {type(state_value).__name__}"
            )
        self.state_value = state_value

    def __repr__(self) -> str:
        return f"state_in({self.state_value!r})"


def and_(guards: Sequence[GuardRef]) -> GuardCombinator:
    """A guard that passes when every guard in ``guards`` passes (evaluated left to right).

    Args:
        guards: Guard references: callables, names, ``{"type", "params"}`` dicts, combinators.
    """
    return _Combined("and_", all, guards)


def or_(guards: Sequence[GuardRef]) -> GuardCombinator:
    """A guard that passes when any guard in ``guards`` passes (evaluated left to right).

    Args:
        guards: Guard references: callables, names, ``{"type", "params"}`` dicts, combinators.
    """
    return _Combined("or_", any, guards)


def not_(guard: GuardRef) -> GuardCombinator:
    """A guard that passes when ``guard`` fails.

    Args:
        guard: A guard reference.
    """
    return _Not(guard)


def state_in(state_value: str | Mapping[str, Any]) -> GuardCombinator:
    """A guard that passes while the machine is in the given state.

    Useful in parallel machines, where one region decides based on another region's state.

    Args:
        state_value: ``"#id"`` (that state node is active), a dotted path such as ``"a.b"``,
            or a partial state value such as ``{"p": {"r1": "x"}}``.
    """
    return _StateIn(state_value)


def iter_guard_callables(ref: GuardRef) -> Iterator[Any]:
    """Yield the callables inside a guard reference (for async validation)."""
    if isinstance(ref, GuardCombinator):
        for child in ref._children():
            yield from iter_guard_callables(child)
    elif callable(ref):
        yield ref


def compile_guard(
    ref: GuardRef,
    implementations: Mapping[str, Any],
    node_by_id: Callable[[str], StateNode | None],
    root: StateNode,
    _depth: int = 0,
) -> CompiledGuard:
    """Compile a guard reference into a ``(run, event) -> bool`` closure.

    Raises:
        GuardResolutionError: The reference (or a ``state_in`` id inside it) cannot be resolved.
    """
    if _depth > _MAX_ALIAS_DEPTH:
        raise GuardResolutionError("guard names refer to each other in a cycle")
    if isinstance(ref, GuardCombinator):
        return _compile_combinator(ref, implementations, node_by_id, root, _depth)
    if callable(ref):
        return _compile_callable(ref, None)
    if isinstance(ref, str):
        name, params = ref, None
    elif isinstance(ref, Mapping) and isinstance(ref.get("type"), str):
        name, params = ref["type"], ref.get("params")
    else:
        raise GuardResolutionError(f"not a guard reference: {ref!r}", reported=True)
    if name not in implementations:
        raise GuardResolutionError(f"unknown guard '{name}'", reported=True)
    impl = implementations[name]
    if isinstance(impl, GuardCombinator) or not callable(impl):
        return compile_guard(impl, implementations, node_by_id, root, _depth + 1)
    return _compile_callable(impl, params)


def _compile_callable(fn: Callable[[ActionArgs], Any], params: Any) -> CompiledGuard:
    if callable(params):
        params_fn = params

        def guard_with_dynamic_params(run: Run, event: Mapping[str, Any]) -> bool:
            resolved = params_fn(ActionArgs(run.context, event, None))
            return bool(fn(ActionArgs(run.context, event, resolved)))

        return guard_with_dynamic_params

    def guard(run: Run, event: Mapping[str, Any]) -> bool:
        return bool(fn(ActionArgs(run.context, event, params)))

    return guard


def _compile_combinator(
    ref: GuardCombinator,
    implementations: Mapping[str, Any],
    node_by_id: Callable[[str], StateNode | None],
    root: StateNode,
    depth: int,
) -> CompiledGuard:
    def sub(child: GuardRef) -> CompiledGuard:
        return compile_guard(child, implementations, node_by_id, root, depth + 1)

    if isinstance(ref, _Combined):
        parts = tuple(sub(g) for g in ref.guards)
        reduce = ref.reduce
        return lambda run, event: reduce(g(run, event) for g in parts)
    if isinstance(ref, _Not):
        inner = sub(ref.guard)
        return lambda run, event: not inner(run, event)
    if isinstance(ref, _StateIn):
        return _compile_state_in(ref.state_value, node_by_id, root)
    raise GuardResolutionError(f"unsupported guard combinator {ref!r}")


def _compile_state_in(
    state_value: str | Mapping[str, Any],
    node_by_id: Callable[[str], StateNode | None],
    root: StateNode,
) -> CompiledGuard:
    if isinstance(state_value, str) and state_value.startswith("#"):
        target = node_by_id(state_value)
        if target is None:
            raise GuardResolutionError(f"state_in({state_value!r}): no state has that id")
        return lambda run, event: target in run.nodes
    test_value = to_state_value(state_value)
    return lambda run, event: matches_state(test_value, current_value(run, root))
