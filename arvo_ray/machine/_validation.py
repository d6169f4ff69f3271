"""Definition-time checks of a machine config and its implementations.

Every problem is collected with the path of the offending key (``states > fetch > invoke``)
and ``create_machine`` raises them all in one :class:`~arvo_ray.core.errors.ConfigViolation`.
This module checks what can be seen without building the node tree: forbidden keys, shapes,
state types, ``initial``, unknown or async actions and guards. Targets and ``state_in`` ids are
checked by the tree builder (``_node``), which adds to the same list.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from typing import Any, Literal

from arvo_ray.core.errors import ConfigViolation

from ._action import BuiltinAction
from ._constants import (
    FORBIDDEN_KEYS,
    HISTORY_KINDS,
    ROOT_KEYS,
    STATE_DELIMITER,
    STATE_IDENTIFIER,
    STATE_KEYS,
    STATE_TYPES,
    TRANSITION_KEYS,
)
from ._guards import GuardCombinator, iter_guard_callables

__all__ = ["Problem", "is_async_callable", "raise_problems", "render_path", "validate_machine"]

Problem = tuple[tuple[str, ...], str]

_ASYNC_HINT = (
    "Arvo machines run synchronously and its coroutine would never be awaited; make it a "
    "plain function and move I/O into a service the machine emits events to"
)


_Kind = Literal["action", "guard"]
# Per kind: its article, and the other forms a reference of that kind may take.
_KINDS: dict[_Kind, tuple[str, str]] = {
    "action": ("an", "a built-in action (assign, emit, raise_)"),
    "guard": ("a", "a combinator (and_, or_, not_, state_in)"),
}


def is_async_callable(fn: Any) -> bool:
    """True for ``async def`` functions, async generators and objects with an async
    ``__call__`` (``functools.partial`` of those included)."""
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        return True
    if callable(fn) and not inspect.isroutine(fn) and not inspect.isclass(fn):
        # A callable object: look at its class's __call__ (the instance attribute lookup
        # would give a bound method, which iscoroutinefunction also understands).
        return inspect.iscoroutinefunction(type(fn).__call__)
    return False


def render_path(path: tuple[str, ...]) -> str:
    """``("states", "fetch", "invoke")`` -> ``"states > fetch > invoke"``."""
    return " > ".join(path) if path else "(root)"


def _suggest(word: str, options: Any) -> str:
    matches = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""


def _known(names: Mapping[str, Any]) -> str:
    return ", ".join(f"'{n}'" for n in sorted(names)) or "none"


class _Validator:
    def __init__(self, actions: Mapping[str, Any], guards: Mapping[str, Any]) -> None:
        self.actions = actions
        self.guards = guards
        self.problems: list[Problem] = []

    def add(self, path: tuple[str, ...], message: str) -> None:
        self.problems.append((path, message))

    # -- implementations given to setup() -----------------------------------------------------
    def implementations(self) -> None:
        for name, impl in self.actions.items():
            path = ("setup", "actions", str(name))
            if isinstance(impl, BuiltinAction):
                self.builtin_callables(impl, path)
            elif not callable(impl):
                self.add(
                    path,
                    f"action '{name}' must be a callable or a built-in action (assign, emit, "
                    f"raise_), got {type(impl).__name__}",
                )
            elif is_async_callable(impl):
                self.add(path, f"action '{name}' is an async function; {_ASYNC_HINT}")
        for name, impl in self.guards.items():
            path = ("setup", "guards", str(name))
            if isinstance(impl, GuardCombinator) or callable(impl):
                self.guard_callables(impl, path)
            elif isinstance(impl, str) or (isinstance(impl, Mapping) and "type" in impl):
                self.guard(impl, path)
            else:
                self.add(
                    path,
                    f"guard '{name}' must be a callable, a combinator (and_, or_, not_, "
                    f"state_in) or another guard's name, got {type(impl).__name__}",
                )

    def builtin_callables(self, action: BuiltinAction, path: tuple[str, ...]) -> None:
        for fn in action._user_callables():
            if is_async_callable(fn):
                self.add(path, f"{action.type} uses an async function; {_ASYNC_HINT}")

    def guard_callables(self, guard: Any, path: tuple[str, ...]) -> None:
        for fn in iter_guard_callables(guard):
            if is_async_callable(fn):
                self.add(path, f"guard {getattr(fn, '__name__', fn)!s} is async; {_ASYNC_HINT}")

    # -- references ---------------------------------------------------------------------------
    def actions_value(self, value: Any, path: tuple[str, ...]) -> None:
        if value is None:
            return
        if isinstance(value, list | tuple):
            for index, item in enumerate(value):
                self.action(item, (*path, f"[{index}]"))
        else:
            self.action(value, path)

    def action(self, ref: Any, path: tuple[str, ...]) -> None:
        if isinstance(ref, BuiltinAction):
            self.builtin_callables(ref, path)
        else:
            self.reference("action", ref, path)

    def guard(self, ref: Any, path: tuple[str, ...], depth: int = 0) -> None:
        if depth > 32:
            self.add(path, "guard names refer to each other in a cycle")
        elif isinstance(ref, GuardCombinator):
            for child in ref._children():
                self.guard(child, path, depth + 1)
        else:
            self.reference("guard", ref, path)

    def reference(self, kind: _Kind, ref: Any, path: tuple[str, ...]) -> None:
        """A callable, or a name or ``{'type': name, 'params': ...}`` dict of an implementation
        given to ``setup(actions=...)`` or ``setup(guards=...)``."""
        if callable(ref):
            if is_async_callable(ref):
                name = getattr(ref, "__name__", kind)
                self.add(path, f"{kind} {name} is an async function; {_ASYNC_HINT}")
            return
        if isinstance(ref, str):
            name, params = ref, None
        elif isinstance(ref, Mapping) and isinstance(ref.get("type"), str):
            name, params = ref["type"], ref.get("params")
        else:
            article, special = _KINDS[kind]
            self.add(
                path,
                f"{article} {kind} must be a callable, a name, a {{'type': name, 'params': ...}} "
                f"dict or {special}; got {ref!r}",
            )
            return
        known = self.actions if kind == "action" else self.guards
        if name not in known:
            self.add(
                path,
                f"unknown {kind} '{name}'{_suggest(name, known)}; provide it with "
                f"setup({kind}s={{'{name}': ...}}) (known {kind}s: {_known(known)})",
            )
        if callable(params) and is_async_callable(params):
            self.add((*path, "params"), f"params of '{name}' is an async function; {_ASYNC_HINT}")

    # -- transitions --------------------------------------------------------------------------
    def transitions(self, value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, list | tuple):
            for index, item in enumerate(value):
                self.transition(item, (*path, f"[{index}]"))
        else:
            self.transition(value, path)

    def transition(self, config: Any, path: tuple[str, ...]) -> None:
        if config is None or isinstance(config, str):
            return
        if not isinstance(config, Mapping):
            self.add(
                path,
                "a transition must be a target string, a dict with target/guard/actions/reenter "
                f"or a list of those; got {type(config).__name__}",
            )
            return
        for key in config:
            if key in FORBIDDEN_KEYS:
                self.add((*path, key), FORBIDDEN_KEYS[key])
            elif key not in TRANSITION_KEYS:
                hint = _suggest(str(key), TRANSITION_KEYS)
                if hint:
                    self.add((*path, str(key)), f"unknown transition key '{key}'{hint}")
        target = config.get("target")
        targets = target if isinstance(target, list | tuple) else [target]
        for item in targets:
            if item is not None and not isinstance(item, str):
                self.add(
                    (*path, "target"),
                    f"a target must be a string ('sibling', '.child', '#id'), got {item!r}",
                )
        if "guard" in config and config["guard"] is not None:
            self.guard(config["guard"], (*path, "guard"))
        self.actions_value(config.get("actions"), (*path, "actions"))
        reenter = config.get("reenter")
        if reenter is not None and not isinstance(reenter, bool):
            self.add((*path, "reenter"), f"'reenter' must be True or False, got {reenter!r}")

    # -- states -------------------------------------------------------------------------------
    def state(self, config: Any, path: tuple[str, ...], is_root: bool) -> None:
        if not isinstance(config, Mapping):
            self.add(path, f"a state config must be a dict, got {type(config).__name__}")
            return
        allowed = STATE_KEYS | ROOT_KEYS if is_root else STATE_KEYS
        for key in config:
            if key in FORBIDDEN_KEYS:
                self.add((*path, str(key)), FORBIDDEN_KEYS[key])
            elif not isinstance(key, str):
                self.add(path, f"config keys must be strings, got {key!r}")
            elif key not in allowed:
                if not is_root and key in ROOT_KEYS:
                    self.add((*path, key), f"'{key}' is only allowed on the machine root")
                else:
                    hint = _suggest(key, allowed)
                    if hint:
                        self.add((*path, key), f"unknown key '{key}'{hint}")
        state_id = config.get("id")
        if state_id is not None and (not isinstance(state_id, str) or not state_id):
            self.add((*path, "id"), f"'id' must be a non-empty string, got {state_id!r}")
        declared = config.get("type")
        if declared is not None and declared not in STATE_TYPES:
            self.add(
                (*path, "type"),
                f"unknown state type {declared!r}; use one of "
                f"{', '.join(repr(t) for t in sorted(STATE_TYPES))}",
            )
        states = config.get("states")
        if states is not None and not isinstance(states, Mapping):
            self.add((*path, "states"), f"'states' must be a dict, got {type(states).__name__}")
            states = None
        has_states = bool(states)
        kind = declared or (
            "compound" if has_states else ("history" if config.get("history") else "atomic")
        )
        if is_root and kind in ("final", "history"):
            self.add((*path, "type"), f"the machine root cannot be a {kind} state")
        if kind in ("final", "history", "atomic") and has_states:
            self.add((*path, "states"), f"a {kind} state cannot have child states")
        if kind == "compound":
            self.initial(config, states or {}, path)
        if kind == "history":
            history = config.get("history")
            if history is not None and history is not True and history not in HISTORY_KINDS:
                self.add(
                    (*path, "history"),
                    f"'history' must be 'shallow' or 'deep', got {history!r}",
                )
        if is_root:
            context = config.get("context")
            if context is not None and not isinstance(context, Mapping):
                if not callable(context):
                    self.add(
                        (*path, "context"),
                        "'context' must be a dict or a callable (ContextArgs) -> dict, got "
                        f"{type(context).__name__}",
                    )
                elif is_async_callable(context):
                    self.add((*path, "context"), f"the context factory is async; {_ASYNC_HINT}")
        output = config.get("output")
        if callable(output) and is_async_callable(output):
            self.add((*path, "output"), f"the output function is async; {_ASYNC_HINT}")
        self.actions_value(config.get("entry"), (*path, "entry"))
        self.actions_value(config.get("exit"), (*path, "exit"))
        on = config.get("on")
        if on is not None:
            if not isinstance(on, Mapping):
                self.add((*path, "on"), f"'on' must be a dict, got {type(on).__name__}")
            else:
                for descriptor, value in on.items():
                    if not isinstance(descriptor, str):
                        self.add(
                            (*path, "on"), f"event descriptors must be strings: {descriptor!r}"
                        )
                    elif descriptor == "":
                        self.add(
                            (*path, "on", '""'),
                            "null events (\"\") cannot be a transition key; use 'always' instead",
                        )
                    else:
                        self.transitions(value, (*path, "on", descriptor))
        for key in ("always", "onDone"):
            if config.get(key) is not None:
                self.transitions(config[key], (*path, key))
        for key, child in (states or {}).items():
            child_path = (*path, "states", str(key))
            if not isinstance(key, str) or not key:
                self.add(child_path, "state keys must be non-empty strings")
                continue
            if STATE_DELIMITER in key or key.startswith(STATE_IDENTIFIER):
                self.add(child_path, f"state key '{key}' must not contain '.' or start with '#'")
            self.state(child, child_path, is_root=False)

    def initial(
        self, config: Mapping[str, Any], states: Mapping[str, Any], path: tuple[str, ...]
    ) -> None:
        initial = config.get("initial")
        first = next(iter(states), None)
        if initial is None:
            self.add(
                (*path, "initial"),
                "a compound state needs 'initial' (XState v5 does not pick a child); add "
                f"'initial': '{first}'",
            )
            return
        target = initial.get("target") if isinstance(initial, Mapping) else initial
        if isinstance(initial, Mapping):
            self.actions_value(initial.get("actions"), (*path, "initial", "actions"))
        if not isinstance(target, str):
            self.add((*path, "initial"), f"'initial' must name a child state, got {initial!r}")
        elif target not in states:
            self.add(
                (*path, "initial"),
                f"initial state '{target}' is not a child of this state (its states: "
                f"{', '.join(repr(k) for k in states)}){_suggest(target, states)}",
            )
        elif isinstance(states[target], Mapping) and states[target].get("type") == "history":
            self.add(
                (*path, "initial"),
                f"initial state '{target}' is a history state; name a regular child state "
                "(a history node's default is the parent's initial state, so this would loop)",
            )


def validate_machine(
    config: Any, actions: Mapping[str, Any], guards: Mapping[str, Any]
) -> list[Problem]:
    """Check a config and its implementations; return every problem found, in config order."""
    validator = _Validator(actions, guards)
    validator.implementations()
    if not isinstance(config, Mapping):
        validator.add((), f"a machine config must be a dict, got {type(config).__name__}")
        return validator.problems
    validator.state(config, (), is_root=True)
    return validator.problems


def raise_problems(machine_id: str, problems: list[Problem]) -> None:
    """Raise one ConfigViolation listing every problem with its path (no-op if none).

    Raises:
        ConfigViolation: There is at least one problem.
    """
    if not problems:
        return
    count = len(problems)
    lines = "\n".join(f"  - {render_path(path)}: {message}" for path, message in problems)
    raise ConfigViolation(
        f"Invalid machine definition '{machine_id}' ({count} problem"
        f"{'s' if count != 1 else ''}):\n{lines}",
        metadata={
            "machine_id": machine_id,
            "problems": [{"path": render_path(p), "message": m} for p, m in problems],
        },
    )
