"""``TelemetryConfig``: a frozen, keyword-only, picklable value that validates itself."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from arvo_ray.telemetry import TelemetryConfig


class TestTelemetryConfig:
    def test_defaults_install_metrics_and_tracing_but_no_exporter(self) -> None:
        """By default nothing is exported anywhere: no console, OTLP, file or log handler."""
        config = TelemetryConfig()
        assert (config.service_name, config.tracing, config.metrics) == ("arvo_ray", True, True)
        assert (config.console, config.otlp_endpoint, config.span_file) == (False, None, None)
        assert config.log_format is None

    def test_is_frozen(self) -> None:
        """Fields cannot be reassigned."""
        config = TelemetryConfig(service_name="a")
        with pytest.raises(dataclasses.FrozenInstanceError):
            config.service_name = "b"  # type: ignore[misc]

    def test_is_keyword_only(self) -> None:
        """Positional arguments are refused."""
        with pytest.raises(TypeError):
            TelemetryConfig("svc")  # type: ignore[misc]

    def test_pickles_to_an_equal_value(self) -> None:
        """A config travels to Ray workers by pickle and stays equal (and hashable)."""
        config = TelemetryConfig(
            service_name="svc", span_file="/tmp/spans.jsonl", console=True, log_format="json"
        )
        copy = pickle.loads(pickle.dumps(config))
        assert copy == config
        assert hash(copy) == hash(config)

    def test_lists_every_problem_at_once(self) -> None:
        """Bad values raise one ValueError naming each offending field."""
        with pytest.raises(ValueError) as caught:
            TelemetryConfig(
                service_name="",
                log_format="xml",  # type: ignore[arg-type]
                otlp_protocol="udp",  # type: ignore[arg-type]
                log_level="LOUD",
                metric_export_interval=0,
                recent_spans=-1,
            )
        message = str(caught.value)
        assert "6 problem(s)" in message
        for field in (
            "service_name",
            "log_format",
            "otlp_protocol",
            "log_level",
            "metric_export_interval",
            "recent_spans",
        ):
            assert field in message

    def test_a_path_object_is_refused_with_a_hint(self) -> None:
        """span_file must be a str (picklable everywhere); the message says to pass str(path)."""
        from pathlib import Path

        with pytest.raises(ValueError, match=r"str\(path\)"):
            TelemetryConfig(span_file=Path("/tmp/x.jsonl"))  # type: ignore[arg-type]
