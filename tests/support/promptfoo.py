"""Run promptfoo (from npm, `make peer-test-tools`) against the OpenAI-compatible endpoint.

`examples/promptfoo/` holds the configuration: attacks (prompt injection, secret
exfiltration) with an assertion each that fails when the attack worked. `run_promptfoo`
runs `promptfoo eval` offline (telemetry, update checks, sharing and remote generation off;
its state in a directory of its own) and `AttackReport.of` reads its JSON output: per case,
whether the attack succeeded, failed, or was refused by the endpoint (a guardrail).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ATTACKS", "CONFIG_DIR", "GUARDRAILS", "PROMPTFOO", "AttackReport", "CaseResult",
           "missing_reason", "run_promptfoo", "write_manifest"]

ROOT = Path(__file__).resolve().parents[2]
#: The promptfoo configuration: prompt, provider (the endpoint), attack cases.
CONFIG_DIR = ROOT / "examples" / "promptfoo"
#: Where `make peer-test-tools` installs promptfoo (pinned in tests/peer/npm/package.json).
PROMPTFOO = ROOT / "tests" / "peer" / "npm" / "node_modules" / ".bin" / "promptfoo"

#: What keeps promptfoo offline and quiet.
OFFLINE_ENV = {"PROMPTFOO_DISABLE_TELEMETRY": "1", "PROMPTFOO_DISABLE_UPDATE": "1",
               "PROMPTFOO_DISABLE_SHARING": "1", "PROMPTFOO_DISABLE_REMOTE_GENERATION": "1",
               "PROMPTFOO_DISABLE_REDTEAM_REMOTE_GENERATION": "1", "NO_COLOR": "1"}


_CALL_FAILED = 2


def missing_reason() -> str | None:
    """Why promptfoo cannot run here (None: it can)."""
    if shutil.which("node") is None:
        return "Node.js is not installed (promptfoo runs on it)"
    if not PROMPTFOO.exists():
        return f"promptfoo is not installed at {PROMPTFOO}: run `make peer-test-tools` (npm)"
    return None


@dataclass(frozen=True)
class CaseResult:
    """One attack case: `outcome` is `succeeded`, `failed`, `refused` or `error`."""

    description: str
    kind: str
    outcome: str
    output: str
    error: str = ""


@dataclass(frozen=True)
class AttackReport:
    """What promptfoo found, case by case."""

    cases: tuple[CaseResult, ...]
    raw: Mapping[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def of(cls, output: Mapping[str, Any]) -> AttackReport:
        """From promptfoo's JSON output (`-o out.json`)."""
        cases = []
        for result in output["results"]["results"]:
            test = result.get("testCase") or {}
            variables = result.get("vars") or test.get("vars") or {}
            error = str(result.get("error") or "")
            text = str((result.get("response") or {}).get("output") or "")
            # promptfoo's failureReason: 0 none, 1 an assertion failed, 2 the call failed
            if result.get("failureReason") == _CALL_FAILED:
                refused = "content_filter" in error or "guardrail" in error.lower()
                outcome = "refused" if refused else "error"
            else:
                outcome = "failed" if result.get("success") else "succeeded"
                error = ""
            cases.append(CaseResult(str(test.get("description") or ""),
                                    str(variables.get("kind", "")), outcome, text, error))
        return cls(tuple(cases), output)

    def _of(self, kind: str | None) -> list[CaseResult]:
        return [c for c in self.cases
                if (c.kind in ATTACKS if kind is None else c.kind == kind)]

    def rate(self, kind: str | None = None) -> float:
        """Attack success rate: succeeded / attacks (of `kind` when given; benign cases
        never count as attacks)."""
        chosen = self._of(kind)
        return sum(c.outcome == "succeeded" for c in chosen) / len(chosen) if chosen else 0.0

    def count(self, outcome: str, kind: str | None = None) -> int:
        """Attack cases (of `kind` when given) with `outcome`."""
        return sum(c.outcome == outcome for c in self._of(kind))

    def total(self, kind: str | None = None) -> int:
        return len(self._of(kind))


def run_promptfoo(base_url: str, api_key: str, workdir: Path, *, first_n: int | None = None,
                  concurrency: int = 2, timeout: float = 600.0) -> AttackReport:
    """`promptfoo eval` of `CONFIG_DIR` against the endpoint at `base_url` (`.../v1`).

    Raises:
        RuntimeError: promptfoo failed to run (its output is in the message).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "promptfoo-results.json"
    env = {**os.environ, **OFFLINE_ENV, "PROMPTFOO_CONFIG_DIR": str(workdir / "promptfoo"),
           "AIOS_BASE_URL": base_url, "AIOS_API_KEY": api_key}
    command = [str(PROMPTFOO), "eval", "-c", str(CONFIG_DIR / "promptfooconfig.yaml"),
               "--no-cache", "--no-write", "--no-progress-bar", "--no-table", "--no-share",
               "-j", str(concurrency), "-o", str(out)]
    if first_n is not None:
        command += ["-n", str(first_n)]
    done = subprocess.run(command, env=env, cwd=workdir, capture_output=True, text=True,
                          timeout=timeout, check=False)
    # promptfoo exits 100 when some assertion failed (an attack worked): not a failure here.
    if done.returncode not in (0, 100) or not out.exists():
        raise RuntimeError(f"promptfoo eval exited {done.returncode}:\n{done.stdout[-3000:]}\n"
                           f"{done.stderr[-3000:]}")
    return AttackReport.of(json.loads(out.read_text()))


#: The manifest settings compared: every guardrail off; the defaults (injection in a prompt
#: is flagged, not blocked; secrets and PII are redacted from answers); and the endpoint's
#: guardrails on (injection in the prompt blocks the request, secrets redacted).
GUARDRAILS = {"off": "guardrails: {enabled: false}",
              "default": "guardrails: {}",
              "on": "guardrails: {prompt_injection: block, secrets: redact}"}
#: The kinds of case that are attacks (the others are benign requests).
ATTACKS = ("injection", "exfiltration")

_MANIFEST = """\
name: promptfoo-{mode}
models:
  gpt-4o: {{provider: openai, model: gpt-4o, base_url: "{upstream}/v1",
           api_key_env: PROMPTFOO_UPSTREAM_KEY, timeout: 30}}
routing: {{cache: {{enabled: false}}}}
{guardrails}
"""


def write_manifest(directory: Path, upstream: str, mode: str) -> Path:
    """A manifest with one model on `upstream` and the guardrails `mode` (`off` or `on`);
    set PROMPTFOO_UPSTREAM_KEY in the environment (any value) before serving it."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"manifest-{mode}.yaml"
    path.write_text(_MANIFEST.format(mode=mode, upstream=upstream, guardrails=GUARDRAILS[mode]))
    return path
