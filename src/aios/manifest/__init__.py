"""Manifests: the schema, the loader with file:line errors, and the JSON Schema export."""

from aios.manifest.loader import (
    check_manifest,
    default_manifest_path,
    load_manifest,
    manifest_digest,
    parse_manifest,
)
from aios.manifest.schema import Action, Agent, Criticality, Manifest, Sequence, Step
from aios.manifest.source import Source, read_source

__all__ = [
    "Action",
    "Agent",
    "Criticality",
    "Manifest",
    "Sequence",
    "Source",
    "Step",
    "check_manifest",
    "default_manifest_path",
    "json_schema",
    "load_manifest",
    "manifest_digest",
    "parse_manifest",
    "read_source",
]


def json_schema() -> dict[str, object]:
    """The manifest's JSON Schema, for editors (`aios manifest schema`)."""
    schema = Manifest.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Ai:oS manifest"
    return schema
