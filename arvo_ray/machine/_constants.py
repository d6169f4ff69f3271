"""Names the interpreter shares with XState: delimiters, reserved event types, config keys.

Only constants live here; nothing in this module runs at transition time.
"""

from __future__ import annotations

from typing import Final

STATE_DELIMITER: Final = "."
STATE_IDENTIFIER: Final = "#"
WILDCARD: Final = "*"

INIT_EVENT_TYPE: Final = "xstate.init"
DONE_STATE_PREFIX: Final = "xstate.done.state."

DEFAULT_MAX_MICROSTEPS: Final = 100

STATE_TYPES: Final = frozenset({"atomic", "compound", "parallel", "final", "history"})
HISTORY_KINDS: Final = frozenset({"shallow", "deep"})

#: Keys of a state node config the interpreter reads (or knowingly ignores: description, meta, tags).
STATE_KEYS: Final = frozenset(
    {
        "id",
        "type",
        "initial",
        "states",
        "on",
        "always",
        "entry",
        "exit",
        "onDone",
        "output",
        "history",
        "target",
        "description",
        "meta",
        "tags",
    }
)
#: Keys allowed only on the root config.
ROOT_KEYS: Final = frozenset({"context", "version", "schemas", "types"})
TRANSITION_KEYS: Final = frozenset({"target", "guard", "actions", "reenter", "description", "meta"})

#: Keys Arvo forbids: they need actors, timers or asynchrony, which a pure step cannot have.
FORBIDDEN_KEYS: Final = {
    "invoke": "'invoke' is not supported: Arvo machines have no actors; emit an event to a "
    "service instead and handle its reply with an 'on' transition",
    "after": "'after' (delayed transitions) is not supported: Arvo machines have no timers; "
    "model timeouts as events",
    "delays": "'delays' is not supported: Arvo machines have no timers",
    "actors": "'actors' is not supported: Arvo machines have no actors",
    "src": "'src' is not supported: Arvo machines invoke no actors",
    "cond": "'cond' was renamed to 'guard' in XState v5; write 'guard' instead",
    "internal": "'internal' was replaced by 'reenter' in XState v5; transitions are internal "
    "by default, write 'reenter': True to exit and re-enter",
    "onEntry": "'onEntry' is XState v4; write 'entry' instead",
    "onExit": "'onExit' is XState v4; write 'exit' instead",
}
