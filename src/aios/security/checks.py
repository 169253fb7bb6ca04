"""Guardrail checks: one named check per detector use, resolved through the detector registry.

A check says which registered detector to run (`detector`, by default the check's own name),
at which stages, and what its findings do (`action`, with per-stage `actions`). What actions
a check may take is decided by its detector's kind, declared on the detector class as
`kind = "injection"` or `kind = "data"` (a detector that declares none is `data`):

- `injection`: taint | block | flag | approve | off, at input, output, tool output and prompt
  (default: taint at input, output and tool output);
- `data`: redact | block | allow | off, at output, prompt and completion (default: redact at
  output and completion).

Stages: `input` (an action's arguments), `output` (an action's result), `tool output` (tool
messages in a model call: other people's text), `prompt` (the user messages of a model call),
`completion` (the model's answer). Redaction at `prompt` is reversible: the model sees
placeholders (`<EMAIL_1>`) and the values are put back in its answer.

`resolve` turns a `Check` (plain manifest data) into a `ResolvedCheck` (what the guardrails
run), failing with a message that names the field and says how to fix it: unknown detectors
(with a did-you-mean and the registered names), actions of the wrong kind, stages the kind
cannot run at, parameters the detector does not take.
"""

from __future__ import annotations

import difflib
import inspect
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aios.errors import NotFoundError
from aios.security.detectors.base import (
    ENTRY_POINT_GROUP,
    detector_factory,
    detector_kind,
    detector_names,
)

__all__ = ["KINDS", "Check", "CheckKind", "DataAction", "DetectorSettings", "InjectionAction",
           "ResolvedCheck", "Stage", "resolve", "unknown_detector"]


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
    """What detected PII, a secret (or any `data` detector's finding) does."""

    redact = "redact"      #: replaced by a placeholder before it is returned, stored or traced
    block = "block"        #: the step (or completion) fails with GuardrailTripped
    allow = "allow"        #: passed through (the decision is still recorded)
    off = "off"            #: not scanned


class Stage(StrEnum):
    """Where a check runs."""

    input = "input"                #: an action's arguments
    output = "output"              #: an action's result
    tool_output = "tool output"    #: tool messages sent to a model (documents, tool results)
    prompt = "prompt"              #: user messages sent to a model
    completion = "completion"      #: a model's answer


@dataclass(frozen=True)
class CheckKind:
    """What a kind of detector's findings can do, and where it can look."""

    name: str
    actions: type[StrEnum]
    stages: frozenset[Stage]
    default_action: str
    default_stages: tuple[Stage, ...]


#: The check kinds, by the `kind` a detector class declares.
KINDS: dict[str, CheckKind] = {
    "injection": CheckKind("injection", InjectionAction,
                           frozenset({Stage.input, Stage.output, Stage.tool_output,
                                      Stage.prompt}),
                           "taint", (Stage.input, Stage.output, Stage.tool_output)),
    "data": CheckKind("data", DataAction,
                      frozenset({Stage.output, Stage.prompt, Stage.completion}),
                      "redact", (Stage.output, Stage.completion)),
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _allowed_key(text: str) -> str:
    return text.strip().strip(".,;:!?\"'`").strip().casefold()


def _patterns_compile(allow: list[str]) -> list[str]:
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

    _allow_compiles = field_validator("allow")(_patterns_compile)

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


class Check(_Frozen):
    """One named check: a registered detector, where it runs, and what its findings do.

    Every field is optional: unset (or null) ones take the kind's defaults, or the ones of the
    check this one overrides (a shorthand field's, or the deployment's in an agent's
    override).
    """

    detector: str | None = Field(
        None, description="The registered detector to run (default: the check's name).")
    action: InjectionAction | DataAction | None = Field(
        None, description="What a finding does. Injection detectors: taint | block | flag | "
                          "approve | off (default taint); data detectors (PII, secrets, most "
                          "custom ones): redact | block | allow | off (default redact).")
    actions: dict[Stage, InjectionAction | DataAction] = Field(
        default_factory=dict,
        description="Per-stage actions overriding `action`, e.g. `{prompt: flag}`.")
    stages: list[Stage] | None = Field(
        None, description="Where to run: input, output, tool output, prompt, completion "
                          "(default: input, output, tool output for injection detectors; "
                          "output, completion for data detectors).")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments of the detector's constructor.")
    threshold: float | None = Field(
        None, ge=0, le=1, description="Findings scored below this are dropped.")
    allow: list[str] = Field(
        default_factory=list,
        description="Flagged texts to let through: a phrase, or `re:` and a regular "
                    "expression matching the whole flagged text.")
    types: list[str] | None = Field(
        None, description="Finding types to act on (default: all the detector reports), e.g. "
                          "EMAIL_ADDRESS. Checked against the detector's types; for the PII "
                          "detector, naming a kind that is off by default (GPE, ORGANIZATION) "
                          "turns it on.")
    classifier_threshold: float | None = Field(
        None, ge=0, le=1,
        description="Score from which the detector's classifier findings count (its "
                    "`classifier_types`; default: the model's own threshold).")
    block_threshold: float | None = Field(
        None, ge=0, le=1,
        description="Injection detectors under `taint`: a finding scored at or above this "
                    "blocks instead (null: taint never blocks).")

    _allow_compiles = field_validator("allow")(_patterns_compile)

    @field_validator("stages", "actions", mode="before")
    @classmethod
    def _underscored_stages(cls, value: Any) -> Any:
        # `tool_output` reads better in YAML keys; the stage's name is `tool output`.
        def fix(stage: Any) -> Any:
            return "tool output" if stage == "tool_output" else stage

        if isinstance(value, list):
            return [fix(s) for s in value]
        if isinstance(value, Mapping):
            return {fix(k): v for k, v in value.items()}
        return value

    def merged(self, over: Check) -> Check:
        """This check with the fields `over` sets replacing its own (allow-lists added,
        per-stage actions merged). A null or empty value is not an override: a dumped
        policy, which writes every field, validates to the same checks."""
        update = {name: value for name in over.model_fields_set
                  if (value := getattr(over, name)) is not None and value != [] and value != {}}
        if "allow" in update:
            update["allow"] = [*self.allow, *over.allow]
        if "actions" in update:
            update["actions"] = {**self.actions, **over.actions}
        return self.model_copy(update=update)


@dataclass(frozen=True)
class ResolvedCheck:
    """A check ready to run: its detector known, every default applied.

    Attributes:
        name: the check's name (`GuardrailDecision.check`).
        detector: the registered detector's name.
        kind: `injection` or `data`.
        actions: the action at each stage the check runs at (`off` stages left out).
        params: the detector's constructor arguments.
        settings: threshold and allow-list.
        types: finding types acted on (None: all).
        classifier_threshold: see `Check.classifier_threshold`.
        block_threshold: see `Check.block_threshold`.
    """

    name: str
    detector: str
    kind: str
    actions: Mapping[str, str]
    params: Mapping[str, Any]
    settings: DetectorSettings
    types: frozenset[str] | None = None
    classifier_threshold: float | None = None
    block_threshold: float | None = None

    @property
    def key(self) -> str:
        """The detector instance this check uses: its name and parameters."""
        if not self.params:
            return self.detector
        return f"{self.detector}{json.dumps(self.params, sort_keys=True, default=repr)}"

    def action(self, stage: str) -> str:
        """The action at `stage` (`off` where the check does not run)."""
        return self.actions.get(stage, "off")


def unknown_detector(field: str, name: str) -> ValueError:
    """The error for a detector name the registry does not know, naming `field`."""
    known = detector_names()
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ValueError(
        f"{field}: unknown detector {name!r}{hint} Registered detectors: "
        f"{', '.join(known) or '(none)'}. Register one with @register_detector or the "
        f"{ENTRY_POINT_GROUP!r} entry point group, or name one with `detector:`")


def _check_params(field: str, detector: str, params: Mapping[str, Any]) -> None:
    if not params:
        return
    factory = detector_factory(detector)
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # a builtin or C factory: its own call will tell
        return
    try:
        signature.bind(**params)
    except TypeError as exc:
        takes = ", ".join(p for p in signature.parameters if p != "self") or "no parameters"
        raise ValueError(f"{field}.params: detector {detector!r} does not take "
                         f"{sorted(params)} ({exc}); it takes: {takes}") from None


def _check_types(field: str, detector: str, check: Check) -> dict[str, Any]:
    """The detector's params, with the check's `types` passed on when the detector takes
    them (so naming a kind that is off by default turns it on).

    Raises:
        ValueError: a type the detector declares it never reports (its `finding_types`).
    """
    factory = detector_factory(detector)
    known = getattr(factory, "finding_types", None)
    params = dict(check.params)
    for at, types in ((f"{field}.types", check.types),
                      (f"{field}.params.types", params.get("types"))):
        if known is None or types is None:
            continue
        unknown = sorted(set(types) - set(known))
        if unknown:
            raise ValueError(f"{at}: unknown type(s) {unknown} for detector {detector!r}; "
                             f"its types are {', '.join(known)}")
    if known is not None and check.types is not None and "types" not in params:
        params["types"] = sorted(check.types)
    return params


def resolve(name: str, check: Check, settings: DetectorSettings | None = None, *,
            where: str = "checks") -> ResolvedCheck:
    """`check` (named `name`) resolved through the detector registry.

    Args:
        settings: the deployment's `detectors:` settings for its detector; the check's own
            threshold wins, allow-lists add up.
        where: the field path used in error messages (`checks`, `agents.mail.checks`).

    Raises:
        ValueError: unknown detector, an action or stage its kind does not have,
            parameters the detector does not take, or types it does not report (the message
            names the field).
    """
    field = f"{where}.{name}"
    detector = check.detector or name
    try:
        kind_name = detector_kind(detector)
    except NotFoundError:
        raise unknown_detector(field if check.detector is None else f"{field}.detector",
                       detector) from None
    kind = KINDS.get(kind_name)
    if kind is None:
        raise ValueError(f"{field}: detector {detector!r} declares kind {kind_name!r}; a "
                         f"detector's kind is one of {', '.join(KINDS)}")
    allowed = [a.value for a in kind.actions]

    def valid(action: Any, at: str) -> str:
        value = str(action.value if isinstance(action, StrEnum) else action)
        if value not in allowed:
            raise ValueError(f"{at}: {value!r} is not an action of {kind.name} detector "
                             f"{detector!r}; use one of {' | '.join(allowed)}")
        return value

    def runs_at(stage: Stage, at: str) -> None:
        if stage not in kind.stages:
            raise ValueError(f"{at}: a {kind.name} detector ({detector!r}) cannot run at stage "
                             f"{stage.value!r}; its stages are "
                             f"{', '.join(s.value for s in Stage if s in kind.stages)}")

    action = valid(check.action if check.action is not None else kind.default_action,
                   f"{field}.action")
    stages = check.stages if check.stages is not None else list(kind.default_stages)
    for stage in stages:
        runs_at(stage, f"{field}.stages")
    actions = {stage.value: action for stage in stages}
    for stage, override in check.actions.items():
        runs_at(stage, f"{field}.actions")
        if stage in stages:
            actions[stage.value] = valid(override, f"{field}.actions.{stage.value}")
    _check_params(field, detector, check.params)
    params = _check_types(field, detector, check)
    own = DetectorSettings(threshold=check.threshold, allow=check.allow)
    return ResolvedCheck(
        name=name, detector=detector, kind=kind.name,
        actions={stage: a for stage, a in actions.items() if a != "off"},
        params=params,
        settings=(settings or DetectorSettings()).merged(own),
        types=frozenset(check.types) if check.types is not None else None,
        classifier_threshold=check.classifier_threshold,
        block_threshold=check.block_threshold)
