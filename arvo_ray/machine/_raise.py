"""The ``raise_`` action: put an event on the machine's own internal queue.

A raised event is processed after the current microstep and any eventless transitions it
enables, before the next external event, and it sees the updated context. Delayed raises are
not supported: Arvo machines have no timers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ._action import BuiltinAction
from ._types import ActionArgs

if TYPE_CHECKING:
    from ._run import Run

__all__ = ["Raise", "raise_"]


class Raise(BuiltinAction):
    """A resolved ``raise_(...)``; build it with :func:`raise_`."""

    __slots__ = ("_event",)
    type: ClassVar[str] = "xstate.raise"

    def __init__(self, event: Mapping[str, Any] | Callable[[ActionArgs], Any]) -> None:
        if isinstance(event, str):
            raise TypeError(
                f"Only event dicts may be raised; use raise_({{'type': {event!r}}}) instead"
            )
        if not callable(event) and not isinstance(event, Mapping):
            raise TypeError(
                "raise_() takes an event dict or a callable (ActionArgs) -> dict; got "
                f"{type(event).__name__}"
            )
        if isinstance(event, Mapping) and not isinstance(event.get("type"), str):
            raise TypeError(f"A raised event needs a string 'type'; got {event!r}")
        self._event = event

    def _user_callables(self) -> Iterator[Any]:
        if callable(self._event):
            yield self._event

    def _resolve(self, run: Run, event: Mapping[str, Any], params: Any) -> None:
        _resolve_raise(self, run, event, params)

    def __repr__(self) -> str:
        return f"raise_({self._event!r})"


def _resolve_raise(action: Raise, run: Run, event: Mapping[str, Any], params: Any) -> None:
    source = action._event
    raised = source(ActionArgs(run.context, event, params)) if callable(source) else source
    if not isinstance(raised, Mapping) or not isinstance(raised.get("type"), str):
        raise TypeError(
            f"A raise_() callable must return an event dict with a 'type'; got {raised!r}"
        )
    run.queue.append(raised)  # type: ignore[arg-type]


def raise_(event: Mapping[str, Any] | Callable[[ActionArgs], Any]) -> Raise:
    """Create an action that raises an internal event, like XState's ``raise``.

    Named ``raise_`` because ``raise`` is a Python keyword.

    Args:
        event: The event dict (with a ``"type"``), or a callable ``(ActionArgs) -> event``.

    Returns:
        An action object usable in ``entry``/``exit``/``actions`` or in ``setup(actions=...)``.

    Raises:
        TypeError: ``event`` is a string, or a dict without a string ``"type"``.
    """
    return Raise(event)
