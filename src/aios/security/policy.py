"""Guardrail policy: what to do about injection, PII and secrets, per deployment and per agent.

Plain frozen data, referenced from the manifest as `guardrails:` (see `Manifest.guardrails`).
Example::

    guardrails:
      injection: taint          # taint | block | flag | approve | off
      injection_block_threshold: 0.995  # block even under taint at or above this score
      pii: redact               # redact | block | allow
      secrets: block
      pseudonymise: true        # mask PII before the model, restore it in the answer
      detectors:                # per detector: a threshold and an allow-list
        secrets: {allow: ["re:AKIA[0-9A-Z]{8}EXAMPLE"]}
      agents:
        user:
          pii: allow            # this agent's job is handling personal data
        mail:
          detectors:
            injection: {allow: ["If you did not make this request, please ignore this email."]}
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["DETECTOR_NAMES", "AgentGuardrails", "DataAction", "DetectorSettings",
           "EffectivePolicy", "GuardrailPolicy", "InjectionAction"]

#: The detectors a policy can tune.
DETECTOR_NAMES = ("injection", "pii", "secrets")


class InjectionAction(StrEnum):
    """What a detected prompt injection does."""

    #: passed on wrapped in an untrusted-content marker; the run is marked tainted (durable)
    #: and every later mutating action of the run needs an approval (`aios.security.taint`)
    taint = "taint"
    block = "block"        #: the step (or completion) fails with GuardrailTripped
    flag = "flag"          #: recorded and logged; execution continues
    approve = "approve"    #: blocked unless the operator re-runs with the action approved
    off = "off"            #: not scanned


class DataAction(StrEnum):
    """What detected PII or a secret in an output does."""

    redact = "redact"      #: replaced by a placeholder before it is returned, stored or traced
    block = "block"        #: the step (or completion) fails with GuardrailTripped
    allow = "allow"        #: passed through (the decision is still recorded)


#: Under `taint`, the score at or above which injection is blocked (see the README's
#: security section for the measurement behind it).
DEFAULT_BLOCK_THRESHOLD = 0.995


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _allowed_key(text: str) -> str:
    return text.strip().strip(".,;:!?\"'`").strip().casefold()


class DetectorSettings(_Frozen):
    """One detector's threshold and allow-list.

    An allow-list entry matches a finding's flagged text (the span, not the whole input): a
    plain entry when the text equals it (case, surrounding spaces and punctuation ignored),
    an entry starting with `re:` when its regular expression matches the WHOLE text. Whole
    matches only, so an attacker cannot smuggle an instruction in by quoting an allowed
    phrase inside it.
    """

    threshold: float | None = Field(
        None, ge=0, le=1, description="Findings of this detector scored below this are dropped.")
    allow: list[str] = Field(
        default_factory=list,
        description="Flagged texts to let through: a phrase, or `re:` and a regular "
                    "expression matching the whole flagged text.")

    @field_validator("allow")
    @classmethod
    def _patterns_compile(cls, allow: list[str]) -> list[str]:
        for i, entry in enumerate(allow):
            if not entry.strip() or entry.strip() == "re:":
                raise ValueError(f"allow[{i}] is empty; write a phrase or `re:` and a pattern")
            if entry.startswith("re:"):
                try:
                    re.compile(entry[3:])
                except re.error as exc:
                    raise ValueError(f"allow[{i}] {entry!r} is not a valid regular expression "
                                     f"({exc}); escape special characters, e.g. \\.") from None
        return allow

    def merged(self, other: DetectorSettings) -> DetectorSettings:
        """These settings with `other`'s threshold (when set) and both allow-lists."""
        threshold = other.threshold if other.threshold is not None else self.threshold
        return DetectorSettings(threshold=threshold, allow=[*self.allow, *other.allow])

    def keeps(self, text: str, score: float) -> bool:
        """False when a finding with this flagged `text` and `score` is dropped."""
        if self.threshold is not None and score < self.threshold:
            return False
        key = _allowed_key(text)
        for entry in self.allow:
            if entry.startswith("re:"):
                if re.fullmatch(entry[3:], text.strip(), flags=re.IGNORECASE):
                    return False
            elif _allowed_key(entry) == key:
                return False
        return True


def _known_detectors(value: dict[str, DetectorSettings]) -> dict[str, DetectorSettings]:
    unknown = sorted(set(value) - set(DETECTOR_NAMES))
    if unknown:
        raise ValueError(f"unknown detector {unknown[0]!r}; the detectors are "
                         f"{', '.join(DETECTOR_NAMES)}")
    return value


class AgentGuardrails(_Frozen):
    """Overrides for one agent; unset fields inherit the deployment's policy."""

    injection: InjectionAction | None = Field(None, description="Override for injection.")
    prompt_injection: InjectionAction | None = Field(
        None, description="Override for injection in user messages sent to a model.")
    pii: DataAction | None = Field(None, description="Override for PII in outputs.")
    secrets: DataAction | None = Field(None, description="Override for secrets in outputs.")
    pseudonymise: bool | None = Field(None, description="Override for pseudonymisation.")
    injection_threshold: float | None = Field(
        None, ge=0, le=1, description="Override for the injection classifier's threshold.")
    injection_block_threshold: float | None = Field(
        None, ge=0, le=1, description="Override for the score that blocks under taint.")
    detectors: dict[str, DetectorSettings] = Field(
        default_factory=dict, description="Per-detector threshold and allow-list for this "
                                          "agent (allow-lists add to the deployment's).")

    _detectors_known = field_validator("detectors")(_known_detectors)


class EffectivePolicy(_Frozen):
    """The policy that applies to one agent, overrides resolved."""

    enabled: bool = True
    injection: InjectionAction = InjectionAction.taint
    prompt_injection: InjectionAction = InjectionAction.flag
    injection_threshold: float | None = None
    injection_block_threshold: float | None = DEFAULT_BLOCK_THRESHOLD
    pii: DataAction = DataAction.redact
    secrets: DataAction = DataAction.redact
    pii_types: tuple[str, ...] | None = None
    pseudonymise: bool = False
    scan_inputs: bool = True
    scan_outputs: bool = True
    detectors: dict[str, DetectorSettings] = Field(default_factory=dict)

    def detector(self, name: str) -> DetectorSettings:
        """The settings of detector `name` (empty when none are given)."""
        return self.detectors.get(name) or DetectorSettings()


class GuardrailPolicy(_Frozen):
    """Runtime guardrails for a deployment."""

    enabled: bool = Field(True, description="False turns every guardrail off.")
    injection: InjectionAction = Field(
        InjectionAction.taint,
        description="Prompt injection in action inputs, tool/document outputs and prompts: "
                    "taint | block | flag | approve | off. Default taint: the text passes on "
                    "wrapped in an untrusted-content marker, the run is marked tainted, and "
                    "every later mutating action of the run needs an approval.")
    injection_block_threshold: float | None = Field(
        DEFAULT_BLOCK_THRESHOLD, ge=0, le=1,
        description="Under `taint`, a finding scored at or above this blocks instead "
                    "(null: taint never blocks). The default is set where the dev benchmark "
                    "(`bench/detectors.py`) shows no benign document scoring that high.")
    injection_threshold: float | None = Field(
        None, ge=0, le=1,
        description="Classifier probability that counts as an injection (default: the "
                    "model's own threshold).")
    prompt_injection: InjectionAction = Field(
        InjectionAction.flag,
        description="Injection in the user messages of a model call: block | flag | approve "
                    "| off. Default flag: operators and handlers write prompts, and role "
                    "instructions ('You are ...') look like injections to any detector; "
                    "tool output and documents, where indirect injection arrives, follow "
                    "`injection`.")
    pii: DataAction = Field(DataAction.redact,
                            description="PII in outputs and completions: redact | block | allow.")
    secrets: DataAction = Field(
        DataAction.redact,
        description="Secrets in outputs and completions: redact | block | allow.")
    pii_types: list[str] | None = Field(
        None, description="PII types to act on (default: all, e.g. EMAIL_ADDRESS, US_SSN).")
    pseudonymise: bool = Field(
        False, description="Replace PII in prompts with placeholders such as <EMAIL_1> before "
                           "the model sees them, and restore the values in its answer.")
    scan_inputs: bool = Field(True, description="Scan action arguments for injection.")
    scan_outputs: bool = Field(True, description="Scan action results (tool and document "
                                                 "output) for injection, PII and secrets.")
    detectors: dict[str, DetectorSettings] = Field(
        default_factory=dict,
        description="Per-detector settings (injection, pii, secrets): `threshold` (drop "
                    "findings scored below it) and `allow` (flagged texts to let through).")
    agents: dict[str, AgentGuardrails] = Field(
        default_factory=dict, description="Per-agent overrides, by agent name.")

    _detectors_known = field_validator("detectors")(_known_detectors)

    def for_agent(self, agent: str | None) -> EffectivePolicy:
        """The policy for `agent` (the deployment's, with that agent's overrides applied)."""
        base = EffectivePolicy(
            enabled=self.enabled, injection=self.injection,
            prompt_injection=self.prompt_injection,
            injection_threshold=self.injection_threshold,
            injection_block_threshold=self.injection_block_threshold, pii=self.pii,
            secrets=self.secrets,
            pii_types=tuple(self.pii_types) if self.pii_types is not None else None,
            pseudonymise=self.pseudonymise, scan_inputs=self.scan_inputs,
            scan_outputs=self.scan_outputs)
        base = base.model_copy(update={"detectors": dict(self.detectors)})
        override = self.agents.get(agent or "")
        if override is None:
            return base
        detectors = dict(self.detectors)
        for name, settings in override.detectors.items():
            detectors[name] = detectors.get(name, DetectorSettings()).merged(settings)
        update = override.model_dump(exclude_none=True, exclude={"detectors"})
        return base.model_copy(update={**update, "detectors": detectors})
