"""Metric snapshots as plain dicts: read this process's figures, add up many processes' figures.

:func:`collect_metrics` reads the in-memory readers :func:`~arvo_ray.telemetry.install_telemetry`
attached, into a picklable, JSON-friendly dict (so Ray actors can return it);
:func:`merge_metrics` adds snapshots of several processes; :func:`summarize_metrics` turns one
into the flat figures a notebook shows (``ArvoRuntime.stats()``).

Snapshot shape::

    {"arvo.events.handled": {"type": "sum", "unit": "{event}", "monotonic": True,
                             "points": [{"attributes": {...}, "value": 3}, ...]},
     "arvo.handler.duration": {"type": "histogram", "unit": "s",
                               "points": [{"attributes": {...}, "count": 3, "sum": 0.01,
                                           "min": ..., "max": ..., "bounds": [...],
                                           "buckets": [...]}, ...]}}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from arvo_ray.core.otel import (
    ATTR_KIND,
    ATTR_OUTCOME,
    ATTR_SOURCE,
    ATTR_VIOLATION_TYPE,
    METRIC_ACTORS_ACTIVE,
    METRIC_DURATION,
    METRIC_ERRORS,
    METRIC_HANDLED,
    METRIC_VIOLATIONS,
    METRIC_WORKFLOWS_COMPLETED,
    METRIC_WORKFLOWS_FAILED,
    METRIC_WORKFLOWS_STARTED,
)

__all__ = ["collect_metrics", "merge_metrics", "summarize_metrics"]

MetricsSnapshot = dict[str, dict[str, Any]]


def collect_metrics(*, delta: bool = False) -> MetricsSnapshot:
    """This process's metrics, read from the in-memory reader (``{}`` without one).

    Args:
        delta: Read the *delta* reader instead: only what was recorded since the previous
            ``delta=True`` call in this process. Use it to ship increments from processes
            that outlive a runtime (pooled Ray task workers) to one place that adds them up;
            it has a single consumer per process. The default (cumulative) reader is
            unaffected and counts everything since install.
    """
    from arvo_ray.telemetry._install import _readers

    cumulative, delta_reader = _readers()
    reader = delta_reader if delta else cumulative
    if reader is None:
        return {}
    data = reader.get_metrics_data()
    if data is None:
        return {}
    parts: list[MetricsSnapshot] = []
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                entry = _metric_entry(metric)
                if entry is not None:
                    parts.append({metric.name: entry})
    return merge_metrics(parts)


def _metric_entry(metric: Any) -> dict[str, Any] | None:
    data = metric.data
    kind = type(data).__name__
    if kind == "Sum":
        points = [
            {"attributes": dict(point.attributes or {}), "value": point.value}
            for point in data.data_points
        ]
        return {
            "type": "sum",
            "unit": metric.unit,
            "monotonic": bool(data.is_monotonic),
            "points": points,
        }
    if kind == "Gauge":
        return {
            "type": "gauge",
            "unit": metric.unit,
            "points": [
                {"attributes": dict(point.attributes or {}), "value": point.value}
                for point in data.data_points
            ],
        }
    if kind == "Histogram":
        return {
            "type": "histogram",
            "unit": metric.unit,
            "points": [
                {
                    "attributes": dict(point.attributes or {}),
                    "count": point.count,
                    "sum": point.sum,
                    "min": point.min,
                    "max": point.max,
                    "bounds": list(point.explicit_bounds),
                    "buckets": list(point.bucket_counts),
                }
                for point in data.data_points
            ],
        }
    return None  # exponential histograms: not produced by arvo_ray


def _key(attributes: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), repr(v)) for k, v in attributes.items()))


def _merge_point(kind: str, into: dict[str, Any], point: Mapping[str, Any]) -> None:
    if kind == "sum":
        into["value"] += point["value"]
    elif kind == "gauge":
        into["value"] = point["value"]
    else:
        into["count"] += point["count"]
        into["sum"] += point["sum"]
        mins = [v for v in (into["min"], point["min"]) if v is not None]
        maxes = [v for v in (into["max"], point["max"]) if v is not None]
        into["min"] = min(mins) if mins else None
        into["max"] = max(maxes) if maxes else None
        if into["bounds"] == point["bounds"] and into["buckets"] is not None:
            into["buckets"] = [
                a + b for a, b in zip(into["buckets"], point["buckets"], strict=True)
            ]
        else:
            into["buckets"] = None  # different bucket layouts cannot be added


def merge_metrics(snapshots: Iterable[Mapping[str, Mapping[str, Any]]]) -> MetricsSnapshot:
    """Add up snapshots (of several processes, or successive deltas of one).

    Sums add, histograms add counts, sums and buckets (min/max combine), gauges keep the last
    value; points are matched by their attribute sets. The inputs are not modified.
    """
    merged: MetricsSnapshot = {}
    index: dict[str, dict[tuple[tuple[str, str], ...], dict[str, Any]]] = {}
    for snapshot in snapshots:
        for name, entry in snapshot.items():
            target = merged.get(name)
            if target is None:
                target = merged[name] = {**entry, "points": []}
                index[name] = {}
            points = index[name]
            for point in entry["points"]:
                key = _key(point["attributes"])
                existing = points.get(key)
                if existing is None:
                    copy = {**point, "attributes": dict(point["attributes"])}
                    if "buckets" in copy and copy["buckets"] is not None:
                        copy["buckets"] = list(copy["buckets"])
                    points[key] = copy
                    target["points"].append(copy)
                else:
                    _merge_point(target["type"], existing, point)
    return merged


def _sum(snapshot: Mapping[str, Any], name: str) -> list[tuple[dict[str, Any], Any]]:
    entry = snapshot.get(name)
    if not entry:
        return []
    return [(point["attributes"], point["value"]) for point in entry["points"]]


def summarize_metrics(snapshot: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The arvo figures of a snapshot as a flat dict (what ``ArvoRuntime.stats()`` shows).

    Keys: ``events_handled``, ``events_ok``, ``events_error``, ``events_violation``,
    ``errors``, ``violations``, ``violations_by_type``, ``workflows_started``,
    ``workflows_completed``, ``workflows_failed``, ``workflow_actors_active``,
    ``by_source`` (per handler source: ``kind``, ``handled``, ``ok``, ``error``,
    ``violation``, ``latency_count``, ``latency_sum_s``, ``latency_mean_s``,
    ``latency_max_s``) and ``workflows_by_source`` (``started``, ``completed``, ``failed``).
    """
    summary: dict[str, Any] = {
        "events_handled": 0,
        "events_ok": 0,
        "events_error": 0,
        "events_violation": 0,
        "errors": 0,
        "violations": 0,
        "violations_by_type": {},
        "workflows_started": 0,
        "workflows_completed": 0,
        "workflows_failed": 0,
        "workflow_actors_active": 0,
        "by_source": {},
        "workflows_by_source": {},
    }
    by_source: dict[str, dict[str, Any]] = summary["by_source"]

    def source_entry(attributes: Mapping[str, Any]) -> dict[str, Any]:
        source = str(attributes.get(ATTR_SOURCE, ""))
        entry = by_source.get(source)
        if entry is None:
            entry = by_source[source] = {
                "kind": attributes.get(ATTR_KIND),
                "handled": 0,
                "ok": 0,
                "error": 0,
                "violation": 0,
                "latency_count": 0,
                "latency_sum_s": 0.0,
                "latency_mean_s": None,
                "latency_max_s": None,
            }
        return entry

    for attributes, value in _sum(snapshot, METRIC_HANDLED):
        outcome = str(attributes.get(ATTR_OUTCOME, "ok"))
        summary["events_handled"] += value
        summary[f"events_{outcome}"] = summary.get(f"events_{outcome}", 0) + value
        entry = source_entry(attributes)
        entry["handled"] += value
        entry[outcome] = entry.get(outcome, 0) + value
    for _attributes, value in _sum(snapshot, METRIC_ERRORS):
        summary["errors"] += value
    for attributes, value in _sum(snapshot, METRIC_VIOLATIONS):
        summary["violations"] += value
        kind = str(attributes.get(ATTR_VIOLATION_TYPE, "unknown"))
        summary["violations_by_type"][kind] = summary["violations_by_type"].get(kind, 0) + value
    for key, name in (
        ("started", METRIC_WORKFLOWS_STARTED),
        ("completed", METRIC_WORKFLOWS_COMPLETED),
        ("failed", METRIC_WORKFLOWS_FAILED),
    ):
        for attributes, value in _sum(snapshot, name):
            summary[f"workflows_{key}"] += value
            flows = summary["workflows_by_source"].setdefault(
                str(attributes.get(ATTR_SOURCE, "")),
                {"started": 0, "completed": 0, "failed": 0},
            )
            flows[key] += value
    for _attributes, value in _sum(snapshot, METRIC_ACTORS_ACTIVE):
        summary["workflow_actors_active"] += value
    duration = snapshot.get(METRIC_DURATION)
    for point in duration["points"] if duration else ():
        entry = source_entry(point["attributes"])
        entry["latency_count"] += point["count"]
        entry["latency_sum_s"] += point["sum"]
        if point["max"] is not None:
            previous = entry["latency_max_s"]
            entry["latency_max_s"] = (
                point["max"] if previous is None else max(previous, point["max"])
            )
    for entry in by_source.values():
        if entry["latency_count"]:
            entry["latency_mean_s"] = entry["latency_sum_s"] / entry["latency_count"]
    return summary
