"""Events into a runtime from outside: the CloudEvents HTTP binding, the checks at the door,
and the inbox that makes an acknowledgement durable and de-duplicates. Nothing here imports
Ray; :mod:`arvo_ray.runtime` places it behind Ray Serve."""

from arvo_ray import _lazy
from arvo_ray.ingress._gate import EventGate
from arvo_ray.ingress._http import IngressError, event_to_http, events_from_http
from arvo_ray.ingress._inbox import INBOX_PREFIX, Inbox, inbox_key

__all__ = [
    "EventGate",
    "INBOX_PREFIX",
    "Inbox",
    "IngressError",
    "event_to_http",
    "events_from_http",
    "inbox_key",
]

_lazy.set_public_module(
    __name__, [EventGate, Inbox, IngressError, event_to_http, events_from_http, inbox_key]
)
