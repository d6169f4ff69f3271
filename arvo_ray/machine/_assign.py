"""The ``assign`` action: replace the context with an updated copy.

The context is treated as immutable: every ``assign`` builds a new dict
(``{**context, **partial}``), so snapshots handed to callers never change under them and two
steps can share unchanged structure without copying.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ._action import BuiltinAction
from ._types import ActionArgs

if TYPE_CHECKING:
    from ._run import Run

__all__ = ["Assign", "assign"]

Assigner = Callable[[ActionArgs], Mapping[str, Any] | None]


class Assign(BuiltinAction):
    """A resolved ``assign(...)``; build it with :func:`assign`."""

    __slots__ = ("_assignment", "_items")
    type: ClassVar[str] = "xstate.assign"

    def __init__(self, assignment: Assigner | Mapping[str, Any]) -> None:
        if callable(assignment):
            self._assignment: Assigner | None = assignment
            self._items: tuple[tuple[str, Any], ...] = ()
        elif isinstance(assignment, Mapping):
            self._assignment = None
            self._items = tuple(assignment.items())
        else:
            raise TypeError(
                "assign() takes a dict of property -> value-or-callable, or a callable "
                f"returning a partial context dict; got {type(assignment).__name__}"
            )

    def _user_callables(self) -> Iterator[Any]:
        if self._assignment is not None:
            yield self._assignment
        for _, value in self._items:
            if callable(value):
                yield value

    def _resolve(self, run: Run, event: Mapping[str, Any], params: Any) -> None:
        _resolve_assign(self, run, event, params)

    def __repr__(self) -> str:
        return f"assign({self._assignment or dict(self._items)!r})"


def _resolve_assign(action: Assign, run: Run, event: Mapping[str, Any], params: Any) -> None:
    context = run.context
    args = ActionArgs(context, event, params)
    if action._assignment is not None:
        partial = action._assignment(args)
        if partial is None:
            partial = {}
        elif not isinstance(partial, Mapping):
            raise TypeError(
                "An assign() callable must return a dict of context updates, got "
                f"{type(partial).__name__}"
            )
        run.context = {**context, **partial}
    else:
        updated = dict(context)
        for key, value in action._items:
            updated[key] = value(args) if callable(value) else value
        run.context = updated
    run.version += 1


def assign(assignment: Assigner | Mapping[str, Any]) -> Assign:
    """Create an action that updates the context, like XState's ``assign``.

    Args:
        assignment: Either a dict mapping context keys to values or to callables
            ``(ActionArgs) -> value``, or one callable ``(ActionArgs) -> dict`` returning the
            keys to update. Keys not mentioned keep their value.

    Returns:
        An action object usable in ``entry``/``exit``/``actions`` or in ``setup(actions=...)``.

    Raises:
        TypeError: ``assignment`` is neither a dict nor a callable.

    Example:
        >>> inc = assign({"count": lambda a: a.context["count"] + 1})
    """
    return Assign(assignment)
