"""The deployment files under cluster/ say what the code does: valid YAML, and the Serve
config of the RayService names a real application builder and app."""

from __future__ import annotations

import inspect
from pathlib import Path

import yaml

from arvo_ray.runtime import ingress_app, load_app

CLUSTER = Path(__file__).resolve().parent.parent / "cluster"


def test_every_manifest_is_valid_yaml() -> None:
    for path in CLUSTER.glob("*.yaml"):
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        assert documents, path.name


def test_the_rayservice_serve_config_names_the_ingress_builder_and_a_real_app() -> None:
    service = next(
        d
        for d in yaml.safe_load_all((CLUSTER / "rayservice.yaml").read_text())
        if d and d["kind"] == "RayService"
    )
    [application] = yaml.safe_load(service["spec"]["serveConfigV2"])["applications"]
    module, _, attribute = application["import_path"].partition(":")
    assert (module, attribute) == ("arvo_ray.runtime", "ingress_app")
    assert inspect.signature(ingress_app).parameters.keys() == {"args"}
    app = load_app(application["args"]["app"])
    assert app.handlers and app.workflows
    builder_options = set(application["args"]) - {"app", "name", "token_env"}
    from arvo_ray.runtime import ArvoRuntime

    assert builder_options <= set(inspect.signature(ArvoRuntime.ingress_application).parameters)


def test_the_job_scripts_share_the_packaging() -> None:
    for script in ("submit_job.sh", "serve_job.sh"):
        text = (CLUSTER / script).read_text()
        assert ". cluster/package.sh" in text
        assert '"pip"' not in text
