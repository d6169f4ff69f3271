"""Events out of a runtime: sinks for the events no handler or workflow of it takes (a
webhook, a JSONL file, any function), chosen by ``to`` prefix. Nothing here imports Ray."""

from arvo_ray import _lazy
from arvo_ray.egress._sinks import (
    CallableSink,
    EventSink,
    JsonlSink,
    SinkRouting,
    UndeliverableError,
)
from arvo_ray.egress._webhook import WebhookSink

__all__ = [
    "CallableSink",
    "EventSink",
    "JsonlSink",
    "SinkRouting",
    "UndeliverableError",
    "WebhookSink",
]

_lazy.set_public_module(__name__, [globals()[name] for name in __all__])
