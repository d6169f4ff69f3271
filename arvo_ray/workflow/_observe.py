"""Workflow lifecycle metrics, read off the records a step commits.

Kept apart from the execution wrapper (``_execution.py`` calls :func:`record_commit` once per
committed write) so the record-to-metric rules live in one place:

- **started**: the step created the record (there was none before, so it consumed the init
  event), whether it then runs on or fails at once;
- **completed**: the record reached status ``done`` in this step;
- **failed**: the step wrote a failure record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arvo_ray.core._metrics import metrics_enabled, record_workflow
from arvo_ray.workflow._record import is_done, is_failed

__all__ = ["record_commit"]


def record_commit(
    handler: Any, previous: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> None:
    """Count what the committed write ``previous`` → ``new`` means for the workflow instance.

    ``new`` is ``None`` when nothing was written (no metric).
    """
    if new is None or not metrics_enabled():
        return
    source, kind = handler.source, getattr(handler, "handler_type", "orchestrator")
    before = previous or {}
    if previous is None:
        record_workflow(source, "started", kind)
    if is_failed(new):
        if not is_failed(before):
            record_workflow(source, "failed", kind)
    elif is_done(new) and not is_done(before):
        record_workflow(source, "completed", kind)
