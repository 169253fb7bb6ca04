"""The public API: what `import aios` and each subpackage export (pinned, in the manner of
httpx's exported-members test), and the README's example actually runs."""

from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


#: Every package's public names. A change here is a change of the public API: add a name
#: only when users need it; internals are imported from their defining module.
PUBLIC: dict[str, list[str]] = {
    "aios": [
        "ActionContext", "AiosError", "HandlerRegistry", "Manifest", "RunResult", "RunStore",
        "Runtime", "Settings", "Store", "__version__", "handler", "load_manifest",
        "open_runtime", "tune_gc",
    ],
    "aios.agents": [
        "application", "kernel", "networking", "orchestration", "scalability", "security",
        "storage", "user",
    ],
    "aios.approvals": [
        "LEVELS", "ActionFacts", "ApprovalEvent", "ApprovalLayer", "ApprovalPolicy",
        "ApprovalRequest", "ApprovalRule", "ApprovalService", "ApproverGroup", "AuditLog",
        "AuditRecord", "Decision", "EscalationStage", "Expiry", "Justification", "Level",
        "LevelPolicy", "Levels", "Mode", "OnExpiry", "Proposal", "RequestStore",
        "Requirement", "Stage", "VerifyReport", "WithdrawOnCancel", "approval_layers",
        "args_hash", "canonical_json", "default_requester", "describe_call", "expire_due",
        "parse_duration", "resumable_runs", "verify_records", "withdraw_quietly",
    ],
    "aios.auth": [
        "IssuedToken", "KeyPolicy", "Role", "TokenInfo", "TokenStore", "User", "UserStore",
        "api_tokens", "hash_token", "users",
    ],
    "aios.discovery": [
        "EXPORTERS", "SOURCES", "Approval", "Budget", "Claim", "CorpusSource",
        "CuriosityConfig", "CuriosityPolicy", "DiscoveryAgent", "DiscoveryStore", "Document",
        "Embedder", "Extraction", "FrontierItem", "GoldFact", "HybridIndex", "KnowledgeGraph",
        "Mission", "MissionRecord", "MissionResult", "MissionState", "ModelExtractor",
        "ModelSource", "Passage", "PatternExtractor", "Provenance", "Source", "StepListener",
        "StepPlan", "StepRecord", "approval_needed", "build_mission", "chunk", "export_graph",
        "information_gain", "load_corpus", "load_gold", "match_claims", "normalise",
        "parse_source",
    ],
    "aios.evaluation": [
        "EVALUATORS", "TARGETS", "Annotation", "AnnotationQueue", "Comparison", "Dataset",
        "EvalReport", "EvalRunRecord", "EvalStore", "Evaluator", "EvaluatorContext",
        "EvaluatorParams", "Harness", "ResultRecord", "Sample", "Score", "Suite", "Summary",
        "Target", "TargetContext", "TargetOutput", "build_evaluator", "build_target",
        "cohen_kappa", "compare_outcomes", "compare_results", "load_dataset", "load_report",
        "load_suite", "register_evaluator", "register_target", "samples_from_store",
        "suite_from_mapping", "summarize", "write_jsonl",
    ],
    "aios.integrations": [
        "GatedTool", "ToolAnswer", "agents_sdk_tools", "gated_tools", "langchain_tools",
    ],
    "aios.llm": [
        "FREE", "BoundGateway", "BudgetLimit", "BudgetManager", "BudgetsConfig", "CallRecord",
        "CostLedger", "Gateway", "LLMRequest", "LLMResponse", "Message", "ModelCapabilities",
        "ModelInfo", "ModelPrices", "ModelSpec", "PriceTable", "Prices", "Provider",
        "ProviderBase", "Rate", "ResponseCache", "RouteDecision", "Router", "StreamChunk",
        "ToolCall", "Usage", "Wrapper", "WrapperProvider", "build_gateway", "cost_usd",
        "create_provider", "default_models", "model_infos", "register_provider",
        "registered_providers",
    ],
    "aios.manifest": [
        "Action", "Agent", "Criticality", "Manifest", "Sequence", "Source", "Step",
        "check_manifest", "default_manifest_path", "json_schema", "load_manifest",
        "manifest_digest", "parse_manifest", "read_source",
    ],
    "aios.mcp": [
        "ActionServer", "McpProxy", "McpServerSpec", "McpToolSpec", "action_name",
        "open_proxy", "tool_name",
    ],
    "aios.observability": [
        "EVENTS", "NULL_HOOK", "SPANS", "CostFn", "EventHook", "GroupStats",
        "MetricsCollector", "MetricsReport", "NullHook", "RedactingSpanProcessor", "Redactor",
        "RunSpans", "SpanNode", "StoreSpanExporter", "StoreSpanProcessor", "TraceHook",
        "TraceSummary", "TraceTree", "Tracing", "TracingLayer", "TracingProvider",
        "compute_metrics", "default_redactor", "get_trace", "list_traces", "llm_tracing",
        "otlp_exporter", "parse_duration", "parse_since", "prometheus_text", "prune_spans",
        "setup_tracing", "span_to_row", "spans",
    ],
    "aios.reliability": [
        "DEFAULT_MODEL_POLICY", "Alternative", "BreakerPolicy", "BreakerRegistry",
        "BreakerSnapshot", "BreakerState", "BreakerStore", "BreakerTransition", "Bulkhead",
        "CircuitBreaker", "Classifier", "Clock", "Fallback", "FallbackSkipped",
        "FallbackUsed", "GiveUp", "MeasuredReport", "ModelFallback", "NoSleepClock",
        "ReliabilityEvent", "ReliabilityLayer", "ReliabilityListener", "ReliabilityPolicy",
        "Retrier", "RetryGaveUp", "RetryPolicy", "RetryScheduled", "SequenceForecast",
        "StreamPolicy", "SystemClock", "Wrapper", "breaker", "bulkhead", "end_to_end",
        "measure", "policy_for", "reliability_wrappers", "required_per_step", "retrying",
        "timeouts",
    ],
    "aios.routing": [
        "DEFAULT_THRESHOLD", "CacheConfig", "CacheSpec", "CacheStats", "CheapestAdequate",
        "ClauseMatch", "Explicit", "IntentMatcher", "IntentPlan", "LatencyBudget",
        "LatencyEstimator", "NamespacePolicy", "NamespaceSpec", "Policy", "QualityFirst",
        "ReferenceModel", "RequestFeatures", "ResponseCache", "RouteDecision", "Router",
        "RoutingData", "RoutingSpec", "TierClassifier", "TrainingReport", "VectorIndex",
        "assign_tiers", "bucket_key", "build_cache", "build_router", "conflict",
        "create_policy", "exact_key", "extract_features", "namespace_of", "policy_names",
        "read_routing_data", "register_policy", "split_clauses", "train_router",
    ],
    "aios.runtime": [
        "ActionContext", "AgentLoop", "AgentOutcome", "ConfirmationLayer", "ForensicLayer",
        "HandlerRegistry", "IdempotencyLayer", "Layer", "Next", "RunFinished", "RunResult",
        "RunStarted", "Runtime", "StepCall", "StepFinished", "StepOutcome", "StepStarted",
        "TimeoutLayer", "compose", "default_layers", "handler", "idempotency_key",
        "invoke_handler",
    ],
    "aios.security": [
        "AgentGuardrails", "Check", "DataAction", "EffectivePolicy", "Finding",
        "GuardrailDecision", "GuardrailLayer", "GuardrailPolicy", "GuardrailProvider",
        "Guardrails", "InjectionAction", "Masker", "Stage", "detector_names", "get_detector",
        "guardrail_wrapper", "register_detector", "scan",
    ],
    "aios.server": [
        "ROUTER_MODULES", "SERVER_REQUESTER", "CookiePolicy", "EventHub", "Message",
        "RunWorker", "Services", "create_app",
    ],
    "aios.store": [
        "BatchWriter", "IdempotencyRecord", "RunRecord", "RunStore", "StepRecord", "Store",
        "database_error", "normalise_url", "redact_url", "utcnow",
    ],
}


def _public_names(module: types.ModuleType) -> set[str]:
    """The public names a package defines or re-exports: its own submodules and the helpers
    it imports to define itself (`annotations`, `TYPE_CHECKING`, `importlib`) are not names."""
    names = set()
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        if name in ("annotations", "TYPE_CHECKING") or getattr(value, "__module__", None) in (
                "typing", "__future__"):
            continue
        names.add(name)
    return names


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_exported_members_are_pinned(package: str) -> None:
    module = importlib.import_module(package)
    assert len(set(module.__all__)) == len(module.__all__), "a name is exported twice"
    assert sorted(module.__all__) == sorted(PUBLIC[package])


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_exported_members_exist_and_nothing_public_is_unexported(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:  # lazy packages load each name here
        assert hasattr(module, name) or importlib.util.find_spec(f"{package}.{name}"), name
    assert _public_names(module) <= set(module.__all__), \
        f"public in {package} but not in its __all__ (rename it _private or export it)"


def test_every_subpackage_is_pinned() -> None:
    packages = {f"aios.{p.parent.name}" for p in (ROOT / "src" / "aios").glob("*/__init__.py")}
    assert packages <= set(PUBLIC)


def test_readme_python_example_runs(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Python API\s+```python\n(.*?)```", readme, re.S)
    assert block, "the README lost its Python example"
    script = tmp_path / "example.py"
    script.write_text(block.group(1))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, env={"AIOS_HOME": str(tmp_path / "home"),
                                            "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "succeeded {'greeting': 'hello team'}"


def test_readme_manifest_example_is_valid(tmp_path: Path) -> None:
    from aios.manifest import load_manifest

    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## A manifest\s+```yaml\n(.*?)```", readme, re.S)
    assert block, "the README lost its manifest example"
    path = tmp_path / "readme.yaml"
    path.write_text(block.group(1))
    manifest = load_manifest(path)  # schema and references; its handler module is fictional
    assert manifest.action("storage.rotate_logs").mutates
    assert set(manifest.models) == {"fast", "smart"}


def test_manifest_reference_in_docs_matches_the_schema() -> None:
    from aios.manifest import json_schema
    from aios.manifest.reference import markdown_reference

    assert (ROOT / "docs" / "manifest.md").read_text() == markdown_reference(json_schema()), \
        "regenerate: aios manifest schema --markdown > docs/manifest.md"
