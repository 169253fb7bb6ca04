"""Guardrail policy: a set of named checks, each a registered detector plus what to do.

Plain frozen data, referenced from the manifest as `guardrails:` (see `Manifest.guardrails`).
The policy is a set of **checks** (`aios.security.checks`): each names a detector from the
detector registry (`@register_detector`, or the `aios.detectors` entry point group), the
stages it runs at and the action its findings take. The runtime's `GuardrailLayer` and the
gateway's `GuardrailProvider` run whatever checks the policy holds, so a detector a user
registers is used by both without editing `aios.security`.

The short fields of the first releases (`injection`, `prompt_injection`, `pii`, `secrets`,
`pseudonymise`, `pii_types`, `injection_threshold`, `injection_block_threshold`) are a
shorthand: validation normalises them into the checks `injection`, `pii` and `secrets`, and
entries under `checks:` override the fields they set. Per-agent overrides (`agents:`) are
normalised the same way and merged over the deployment's checks. Example::

    guardrails:
      injection: taint          # shorthand for checks.injection.action
      pii: redact               # shorthand for checks.pii.action
      detectors:                # per detector: a threshold and an allow-list
        secrets: {allow: ["re:AKIA[0-9A-Z]{8}EXAMPLE"]}
      checks:
        secrets: {action: block}
        codename:               # a detector the deployment registered
          action: block
          stages: [output, completion]
          params: {words: [bluebird]}
      agents:
        user:
          pii: allow            # this agent's job is handling personal data
        mail:
          checks:
            injection: {allow: ["If you did not make this request, please ignore this email."]}
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aios.errors import NotFoundError
from aios.security.checks import (
    Check,
    DataAction,
    DetectorSettings,
    InjectionAction,
    ResolvedCheck,
    Stage,
    resolve,
    unknown_detector,
)
from aios.security.detectors.base import detector_factory, detector_kind

__all__ = ["AgentGuardrails", "Check", "DataAction", "DetectorSettings", "EffectivePolicy",
           "GuardrailPolicy", "InjectionAction", "Stage"]

#: Under `taint`, the score at or above which injection is blocked (see the README's
#: security section for the measurement behind it).
DEFAULT_BLOCK_THRESHOLD = 0.995


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _known_detectors(value: dict[str, DetectorSettings]) -> dict[str, DetectorSettings]:
    for name in value:
        try:
            detector_kind(name)
        except NotFoundError:
            raise unknown_detector("detectors", name) from None
    return value


def _known_pii_types(value: list[str] | None) -> list[str] | None:
    """`pii_types` names kinds the `pii` detector reports (checked here, so the error names
    the field the user wrote, with a did-you-mean)."""
    known = list(getattr(detector_factory("pii"), "finding_types", None) or ())
    unknown = [t for t in value or () if known and t not in known]
    if unknown:
        hints = [f"{t!r}" + (f" (did you mean {close[0]}?)" if close else "")
                 for t in unknown for close in [difflib.get_close_matches(t, known, 1, 0.5)]]
        raise ValueError(f"unknown PII type(s) {', '.join(hints)}; the kinds are "
                         f"{', '.join(known)}")
    return value


def _set(model: BaseModel, name: str, value: Any) -> None:
    # A validator normalising a frozen model's field.
    object.__setattr__(model, name, value)


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
    checks: dict[str, Check] = Field(
        default_factory=dict,
        description="Per-check overrides (fields set replace the deployment's, allow-lists "
                    "add up); a check the deployment lacks is added.")

    _detectors_known = field_validator("detectors")(_known_detectors)

    @model_validator(mode="after")
    def _normalise(self) -> AgentGuardrails:
        short: dict[str, dict[str, Any]] = {}
        injection: dict[str, Any] = {}
        if self.injection_threshold is not None:
            injection["classifier_threshold"] = self.injection_threshold
        if self.injection_block_threshold is not None:
            injection["block_threshold"] = self.injection_block_threshold
        if self.injection is not None:
            injection["action"] = self.injection
        if self.prompt_injection is not None:
            injection["actions"] = {Stage.prompt: self.prompt_injection}
        if injection:
            short["injection"] = injection
        if self.pii is not None:
            short["pii"] = {"action": self.pii}
        if self.pseudonymise is not None:
            short.setdefault("pii", {})["actions"] = {
                Stage.prompt: DataAction.redact if self.pseudonymise else DataAction.off}
        if self.secrets is not None:
            short["secrets"] = {"action": self.secrets}
        checks = {name: Check(**fields) for name, fields in short.items()}
        for name, check in self.checks.items():
            checks[name] = checks[name].merged(check) if name in checks else check
        _set(self, "checks", checks)
        return self


@dataclass(frozen=True)
class EffectivePolicy:
    """The policy that applies to one agent: its checks resolved, overrides applied.

    Attributes:
        enabled: False turns every check off.
        checks: the resolved checks, by name.
        scan_inputs: False skips every check at stage `input`.
        scan_outputs: False skips every check at stage `output`.
    """

    enabled: bool = True
    checks: Mapping[str, ResolvedCheck] = field(default_factory=dict)
    scan_inputs: bool = True
    scan_outputs: bool = True

    def __post_init__(self) -> None:
        switched_off = {Stage.input.value} if not self.scan_inputs else set()
        if not self.scan_outputs:
            switched_off.add(Stage.output.value)
        at: dict[tuple[str, str], tuple[ResolvedCheck, ...]] = {}
        for stage in Stage:
            for kind in ("injection", "data"):
                at[stage.value, kind] = () if not self.enabled or stage in switched_off else \
                    tuple(c for c in self.checks.values()
                          if c.kind == kind and stage.value in c.actions)
        object.__setattr__(self, "_at", at)

    def at(self, stage: str, kind: str) -> tuple[ResolvedCheck, ...]:
        """The checks of `kind` (`injection` or `data`) that run at `stage`."""
        found: tuple[ResolvedCheck, ...] = self._at.get((stage, kind), ())  # type: ignore[attr-defined]
        return found

    @property
    def injection(self) -> InjectionAction:
        """The `injection` check's action on tool and document output."""
        check = self.checks.get("injection")
        return InjectionAction(check.action(Stage.output) if check else "off")

    @property
    def pseudonymise(self) -> bool:
        """Whether some data check redacts prompts (reversibly: restored in the answer)."""
        return any(c.action(Stage.prompt) == "redact" for c in self.at(Stage.prompt, "data"))

    def detector(self, name: str) -> DetectorSettings:
        """The threshold and allow-list of the first check that runs detector `name`."""
        for check in self.checks.values():
            if check.detector == name:
                return check.settings
        return DetectorSettings()


class GuardrailPolicy(_Frozen):
    """Runtime guardrails for a deployment."""

    enabled: bool = Field(True, description="False turns every guardrail off.")
    injection: InjectionAction = Field(
        InjectionAction.taint,
        description="Shorthand for `checks.injection.action`. Prompt injection in action "
                    "inputs, tool/document outputs: taint | block | flag | approve | off. "
                    "Default taint: the text passes on wrapped in an untrusted-content "
                    "marker, the run is marked tainted, and every later mutating action of "
                    "the run needs an approval.")
    injection_block_threshold: float | None = Field(
        DEFAULT_BLOCK_THRESHOLD, ge=0, le=1,
        description="Shorthand for `checks.injection.block_threshold`. Under `taint`, a "
                    "finding scored at or above this blocks instead (null: taint never "
                    "blocks). The default is set where the dev benchmark "
                    "(`bench/detectors.py`) shows no benign document scoring that high.")
    injection_threshold: float | None = Field(
        None, ge=0, le=1,
        description="Shorthand for `checks.injection.classifier_threshold`: classifier "
                    "probability that counts as an injection (default: the model's own).")
    prompt_injection: InjectionAction = Field(
        InjectionAction.flag,
        description="Shorthand for `checks.injection.actions.prompt`. Injection in the user "
                    "messages of a model call: block | flag | approve | off. Default flag: "
                    "operators and handlers write prompts, and role instructions ('You are "
                    "...') look like injections to any detector; tool output and documents, "
                    "where indirect injection arrives, follow `injection`.")
    pii: DataAction = Field(
        DataAction.redact, description="Shorthand for `checks.pii.action`: PII in outputs and "
                                       "completions: redact | block | allow | off.")
    secrets: DataAction = Field(
        DataAction.redact,
        description="Shorthand for `checks.secrets.action`: secrets in outputs and "
                    "completions: redact | block | allow | off.")
    pii_types: list[str] | None = Field(
        None, description="Shorthand for `checks.pii.types`: PII types to act on (default: "
                          "all but places and organisations: EMAIL_ADDRESS, US_SSN, "
                          "CREDIT_CARD, IBAN_CODE, IP_ADDRESS, PHONE_NUMBER, US_DRIVER_LICENSE, "
                          "PERSON, STREET_ADDRESS, DATE_TIME (dates of birth: `checks.pii.params."
                          "dates` calendar | all for more); add GPE, ORGANIZATION to mask "
                          "those too).")
    pseudonymise: bool = Field(
        False, description="Shorthand for `checks.pii.actions.prompt: redact`: replace PII in "
                           "prompts with placeholders such as <EMAIL_1> before the model sees "
                           "them, and restore the values in its answer.")
    scan_inputs: bool = Field(True, description="Run the checks at stage `input` (action "
                                                "arguments).")
    scan_outputs: bool = Field(True, description="Run the checks at stage `output` (action "
                                                 "results: tool and document output).")
    detectors: dict[str, DetectorSettings] = Field(
        default_factory=dict,
        description="Per-detector settings, applied to every check that runs the detector: "
                    "`threshold` (drop findings scored below it) and `allow` (flagged texts "
                    "to let through).")
    checks: dict[str, Check] = Field(
        default_factory=dict,
        description="Named checks, each a registered detector (`detector`, default the "
                    "name), its `action`, `stages` and `params`. The shorthand fields above "
                    "fill `injection`, `pii` and `secrets`; entries here override the fields "
                    "they set. Unknown names fail validation with the registered detectors.")
    agents: dict[str, AgentGuardrails] = Field(
        default_factory=dict, description="Per-agent overrides, by agent name.")

    _detectors_known = field_validator("detectors")(_known_detectors)
    _pii_types_known = field_validator("pii_types")(_known_pii_types)

    @model_validator(mode="after")
    def _normalise(self) -> GuardrailPolicy:
        injection = Check(
            action=self.injection,
            stages=[Stage.input, Stage.output, Stage.tool_output, Stage.prompt],
            actions={Stage.prompt: self.prompt_injection},
            classifier_threshold=self.injection_threshold,
            block_threshold=self.injection_block_threshold)
        data = [Stage.output, Stage.completion, Stage.prompt]
        pii = Check(action=self.pii, stages=data, types=self.pii_types, actions={
            Stage.prompt: DataAction.redact if self.pseudonymise else DataAction.off})
        secrets = Check(action=self.secrets, stages=data[:2])
        checks = {"injection": injection, "pii": pii, "secrets": secrets}
        for name, check in self.checks.items():
            checks[name] = checks[name].merged(check) if name in checks else check
        _set(self, "checks", checks)
        # Resolve now, so unknown detectors, wrong actions or stages, and bad parameters
        # fail validation (with the field named) rather than the first run.
        problems: list[str] = []
        self._resolve_checks(None, problems)
        for agent in self.agents if not problems else ():  # else each repeats the same
            self._resolve_checks(agent, problems)
        if problems:  # every bad check at once, not one per `aios manifest validate`
            raise ValueError("; ".join(dict.fromkeys(problems)))
        return self

    def _resolve(self, checks: Mapping[str, Check], detectors: Mapping[str, DetectorSettings],
                 where: str = "checks",
                 problems: list[str] | None = None) -> dict[str, ResolvedCheck]:
        out = {}
        for name, check in checks.items():
            detector = check.detector or name
            try:
                out[name] = resolve(name, check, detectors.get(detector), where=where)
            except ValueError as exc:
                if problems is None:
                    raise
                problems.append(str(exc))
        return out

    def for_agent(self, agent: str | None) -> EffectivePolicy:
        """The policy for `agent` (the deployment's, with that agent's overrides applied).

        Raises:
            ValueError: a check does not resolve (only possible on a model built without
                validation: validation resolves every agent's checks).
        """
        return EffectivePolicy(enabled=self.enabled, checks=self._resolve_checks(agent),
                               scan_inputs=self.scan_inputs, scan_outputs=self.scan_outputs)

    def _resolve_checks(self, agent: str | None,
                        problems: list[str] | None = None) -> dict[str, ResolvedCheck]:
        override = self.agents.get(agent or "")
        if override is None:
            return self._resolve(self.checks, self.detectors, problems=problems)
        return self._for(agent or "", override, problems)

    def _for(self, agent: str, override: AgentGuardrails,
             problems: list[str] | None) -> dict[str, ResolvedCheck]:
        checks = dict(self.checks)
        for name, check in override.checks.items():
            checks[name] = checks[name].merged(check) if name in checks else check
        detectors = dict(self.detectors)
        for name, settings in override.detectors.items():
            detectors[name] = detectors.get(name, DetectorSettings()).merged(settings)
        return self._resolve(checks, detectors, f"agents.{agent}.checks", problems)
