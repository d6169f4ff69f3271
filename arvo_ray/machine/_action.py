"""Action references: the base of the built-in action creators and the compiler for references.

An action in a config is a callable (a custom action, run for its side effects), a built-in
action object (:func:`assign`, :func:`emit`, :func:`raise_`), a name (``"notify"``) or a
``{"type": name, "params": ...}`` dict resolved against ``setup(actions=...)``. At definition
time every reference is compiled into a :data:`CompiledAction`, a closure ``(run, event) ->
None`` so the hot path does no name lookups or type dispatch. Validation of references (unknown
names, async callables) lives in ``_validation``; this module assumes valid references.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ._types import ActionArgs

if TYPE_CHECKING:
    from ._run import Run

__all__ = ["BuiltinAction", "CompiledAction", "compile_action", "compile_actions"]

CompiledAction = Callable[["Run", Mapping[str, Any]], None]


class BuiltinAction:
    """Base of the built-in actions; each subclass pairs a creator with a private resolver.

    Built-in actions change the step rather than run a side effect: ``assign`` replaces the
    context, ``emit`` appends to the emitted list, ``raise_`` queues an internal event.
    """

    __slots__ = ()
    type: ClassVar[str] = "builtin"

    def _resolve(self, run: Run, event: Mapping[str, Any], params: Any) -> None:
        raise NotImplementedError

    def _user_callables(self) -> Iterator[Any]:
        """Yield the user callables inside the action, so validation can reject async ones."""
        return iter(())

    def _compile(self, params: Any) -> CompiledAction:
        resolve = self._resolve
        if callable(params):
            params_fn = params

            def run_with_dynamic_params(run: Run, event: Mapping[str, Any]) -> None:
                resolve(run, event, params_fn(ActionArgs(run.context, event, None)))

            return run_with_dynamic_params

        def run_action(run: Run, event: Mapping[str, Any]) -> None:
            resolve(run, event, params)

        return run_action


def _compile_custom(fn: Callable[[ActionArgs], Any], params: Any) -> CompiledAction:
    if callable(params):
        params_fn = params

        def custom_with_dynamic_params(run: Run, event: Mapping[str, Any]) -> None:
            fn(ActionArgs(run.context, event, params_fn(ActionArgs(run.context, event, None))))

        return custom_with_dynamic_params

    def custom(run: Run, event: Mapping[str, Any]) -> None:
        fn(ActionArgs(run.context, event, params))

    return custom


def compile_action(ref: Any, implementations: Mapping[str, Any]) -> CompiledAction | None:
    """Compile one action reference; ``None`` if it is invalid (validation reports why)."""
    if isinstance(ref, BuiltinAction):
        return ref._compile(None)
    if callable(ref):
        return _compile_custom(ref, None)
    if isinstance(ref, str):
        name, params = ref, None
    elif isinstance(ref, Mapping) and isinstance(ref.get("type"), str):
        name, params = ref["type"], ref.get("params")
    else:
        return None
    impl = implementations.get(name)
    if isinstance(impl, BuiltinAction):
        return impl._compile(params)
    if callable(impl):
        return _compile_custom(impl, params)
    return None


def as_list(value: Any) -> list[Any]:
    """XState's ``toArray``: ``None`` -> ``[]``, a list stays, anything else is wrapped."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def compile_actions(refs: Any, implementations: Mapping[str, Any]) -> tuple[CompiledAction, ...]:
    """Compile an ``entry``/``exit``/``actions`` value (one reference or a list of them)."""
    compiled = (compile_action(ref, implementations) for ref in as_list(refs))
    return tuple(action for action in compiled if action is not None)
