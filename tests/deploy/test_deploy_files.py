"""The container and compose files, checked without Docker: the compose file against the
Compose Specification schema, the image's install steps against the Makefile's, the
collector's pipeline, and the deployment guide against the settings it documents."""

from __future__ import annotations

import copy
import importlib.resources
import json
import re
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from aios.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
COLLECTOR = ROOT / "deploy" / "otel-collector.yaml"
DOCKERFILE = ROOT / "Dockerfile"
MAKEFILE = ROOT / "Makefile"
GUIDE = ROOT / "docs" / "deployment.md"
SERVE = "aios serve --host 0.0.0.0 --port 8080"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def compose_validator() -> jsonschema.Validator:
    # The Compose Specification's schema as vendored by check-jsonschema (a dev dependency):
    # nothing is downloaded at test time.
    vendored = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendored / "compose-spec.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def _errors(validator: jsonschema.Validator, doc: Any) -> list[str]:
    return [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_compose_file_follows_the_compose_specification(
        compose: dict[str, Any], compose_validator: jsonschema.Validator) -> None:
    assert _errors(compose_validator, compose) == []
    broken = copy.deepcopy(compose)
    broken["services"]["aios"]["comand"] = ["aios"]  # the schema does catch a typo
    assert _errors(compose_validator, broken)


def test_compose_runs_server_workers_store_collector_and_trace_ui(
        compose: dict[str, Any]) -> None:
    services = compose["services"]
    server = services["aios"]
    assert SERVE in " ".join(server["command"])
    assert server["environment"]["AIOS_EXECUTOR"] == "ray"
    assert server["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
    assert server["environment"]["AIOS_DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in server["environment"]["AIOS_DATABASE_URL"]
    assert server["ports"] == ["127.0.0.1:8080:8080"]  # TLS is a reverse proxy's job
    assert server["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["aios", "deploy", "prepare"]

    head, worker = services["ray-head"], services["ray-worker"]
    assert "--head" in head["command"] and "--port=6379" in head["command"]
    assert "--address=ray-head:6379" in worker["command"]
    assert server["environment"]["AIOS_RAY_ADDRESS"] == "ray-head:6379"
    tokens = {s["environment"]["RAY_AUTH_TOKEN"] for s in (head, worker, server)}
    assert len(tokens) == 1  # one cluster token for every Ray process
    assert "AIOS_DATABASE_URL" not in worker["environment"]  # workers hold no store secrets

    postgres = services["postgres"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert services["otel-collector"]["image"].startswith("otel/opentelemetry-collector-contrib")
    assert "./otel-collector.yaml:/etc/otelcol-contrib/config.yaml:ro" in (
        services["otel-collector"]["volumes"])
    assert services["jaeger"]["image"].startswith("jaegertracing/all-in-one")


def test_every_aios_variable_in_compose_is_a_real_setting(compose: dict[str, Any]) -> None:
    known = {f"AIOS_{name.upper()}" for name in Settings.model_fields}
    used = {key for service in compose["services"].values()
            for key in (service.get("environment") or {}) if key.startswith("AIOS_")}
    assert used and used <= known


def test_collector_receives_otlp_http_and_exports_to_jaeger() -> None:
    config = yaml.safe_load(COLLECTOR.read_text())
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    traces = config["service"]["pipelines"]["traces"]
    for kind in ("receivers", "processors", "exporters"):
        assert set(traces[kind]) <= set(config[kind]), kind
    exporter = config["exporters"][traces["exporters"][0]]
    assert exporter["endpoint"] == "jaeger:4317"


def _make_vars() -> dict[str, str]:
    found = re.findall(r"^(\w+)\s*:?=\s*(.*)$", MAKEFILE.read_text(), re.M)
    return {name: value.strip() for name, value in found}


def _docker_args() -> dict[str, str]:
    found = re.findall(r"^ARG (\w+)=(.*)$", DOCKERFILE.read_text(), re.M)
    return {name: value.strip().strip('"') for name, value in found}


def test_image_builds_llama_cpp_like_the_makefile_and_installs_with_make() -> None:
    make, args = _make_vars(), _docker_args()
    assert args["LLAMA_CPP_VERSION"] == make["LLAMA_CPP_VERSION"]
    assert args["LLAMA_CMAKE_ARGS"] == make["LLAMA_CMAKE_ARGS"]
    text = DOCKERFILE.read_text()
    assert 'CMAKE_ARGS="${LLAMA_CMAKE_ARGS}"' in text
    assert "llama-cpp-python==${LLAMA_CPP_VERSION}" in text
    # The install is CI's own `make install` (with the `all` extra: local model, Ray,
    # PostgreSQL), finding the wheel built in the first stage.
    install = re.search(r"RUN make install (.*)", text)
    assert install is not None
    assert "EXTRAS=all" in install.group(1) and "WHEELS=/wheels" in install.group(1)
    assert "COPY --from=build /wheels /wheels" in text


def test_image_is_slim_non_root_and_health_checked() -> None:
    text = DOCKERFILE.read_text()
    assert _docker_args()["PYTHON_IMAGE"] == "python:3.11-slim"
    assert re.findall(r"^FROM \$\{PYTHON_IMAGE\} AS (\w+)", text, re.M) == ["build", "runtime"]
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1] not in ("root", "0")
    health = re.search(r"HEALTHCHECK .*\n\s+CMD (\[.*\])", text)
    assert health is not None
    probe = json.loads(health.group(1))
    assert probe[:2] == ["python", "-c"] and "urllib" in probe[2]
    assert "http://127.0.0.1:8080/healthz" in probe[2]
    cmd = json.loads(re.findall(r"^CMD (\[.*\])", text, re.M)[-1])
    assert shlex.join(cmd) == SERVE


def test_dockerignore_keeps_the_venv_and_secrets_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", ".env", "tests"} <= set(ignored)


def test_deployment_guide_documents_every_setting_and_the_commands() -> None:
    guide = GUIDE.read_text()
    for name, field in Settings.model_fields.items():
        assert f"AIOS_{name.upper()}" in guide, f"AIOS_{name.upper()} ({field.description})"
    for needed in ("OTEL_EXPORTER_OTLP_ENDPOINT", "aios deploy prepare", "pg_dump",
                   "pg_restore", ".backup", "bench/scale.py", "/metrics", "/healthz"):
        assert needed in guide, needed
