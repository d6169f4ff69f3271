"""The ``emit`` action: hand an object to the caller of ``transition``.

Emitted objects are collected in action order (exit, transition, entry) across the whole
macrostep and returned next to the new snapshot; in Arvo they become the events the
orchestrator sends. An emitter callable sees the context as updated by earlier actions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ._action import BuiltinAction
from ._types import ActionArgs

if TYPE_CHECKING:
    from ._run import Run

__all__ = ["Emit", "emit"]


class Emit(BuiltinAction):
    """A resolved ``emit(...)``; build it with :func:`emit`."""

    __slots__ = ("_event",)
    type: ClassVar[str] = "xstate.emit"

    def __init__(self, event: Mapping[str, Any] | Callable[[ActionArgs], Any]) -> None:
        if not callable(event) and not isinstance(event, Mapping):
            raise TypeError(
                "emit() takes an event dict or a callable (ActionArgs) -> dict; got "
                f"{type(event).__name__}"
            )
        self._event = event

    def _user_callables(self) -> Iterator[Any]:
        if callable(self._event):
            yield self._event

    def _resolve(self, run: Run, event: Mapping[str, Any], params: Any) -> None:
        _resolve_emit(self, run, event, params)

    def __repr__(self) -> str:
        return f"emit({self._event!r})"


def _resolve_emit(action: Emit, run: Run, event: Mapping[str, Any], params: Any) -> None:
    source = action._event
    if callable(source):
        run.emitted.append(source(ActionArgs(run.context, event, params)))
    else:
        # A copy, so a caller enriching the emitted dict cannot alter the machine definition.
        run.emitted.append(dict(source))


def emit(event: Mapping[str, Any] | Callable[[ActionArgs], Any]) -> Emit:
    """Create an action that emits an object to the caller, like XState's ``emit``.

    Args:
        event: The object to emit, or a callable ``(ActionArgs) -> object`` evaluated when the
            action runs (so it sees context changes made earlier in the same step).

    Returns:
        An action object usable in ``entry``/``exit``/``actions`` or in ``setup(actions=...)``.

    Raises:
        TypeError: ``event`` is neither a dict nor a callable.
    """
    return Emit(event)
