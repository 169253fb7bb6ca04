"""Guardrail policy: what to do about injection, PII and secrets, per deployment and per agent.

Plain frozen data, referenced from the manifest as `guardrails:` (see `Manifest.guardrails`).
Example::

    guardrails:
      injection: taint          # taint | block | flag | approve | off
      injection_block_threshold: 0.99   # block even under taint at or above this score
      pii: redact               # redact | block | allow
      secrets: block
      pseudonymise: true        # mask PII before the model, restore it in the answer
      agents:
        user:
          pii: allow            # this agent's job is handling personal data
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AgentGuardrails", "DataAction", "EffectivePolicy", "GuardrailPolicy",
           "InjectionAction"]


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
DEFAULT_BLOCK_THRESHOLD = 0.99


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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
    agents: dict[str, AgentGuardrails] = Field(
        default_factory=dict, description="Per-agent overrides, by agent name.")

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
        override = self.agents.get(agent or "")
        if override is None:
            return base
        return base.model_copy(update=override.model_dump(exclude_none=True))
