"""Runtime guardrails: the checks, the pipeline layer, and the decisions they emit.

`Guardrails` holds the policy, the detectors its checks name and the decision hooks;
`GuardrailLayer` applies it to every action (arguments in, result out) and
`GuardrailProvider` (streaming.py) to every LLM call. The policy is a set of named checks
(`aios.security.checks`), each running a detector from the registry at some stages; nothing
here knows a detector by name, so a detector a user registers is run like the built-in ones.
Each check produces a `GuardrailDecision`, handed to every hook (trace exporter, audit log)
and logged, whatever the verdict; a verdict that stops the step raises `GuardrailTripped`
carrying it (`exc.decision`).

Injection verdicts: `taint` (the default for action input and output) passes the text on,
flagged output wrapped in an untrusted-content marker, and marks the run tainted so its later
mutating actions need an approval (`aios.security.taint`); at or above the check's
`block_threshold` it blocks instead. `block` raises `GuardrailTripped`; `flag` records and
continues; `approve` raises `GuardrailTripped` saying how to approve: re-run with the action
named in the `AIOS_GUARDRAILS_APPROVE` env value (`--env AIOS_GUARDRAILS_APPROVE=agent.key`),
which turns the verdict into `flag` for that action. The approval gate cannot be asked from
here (it decides on the action, before its output exists), hence this explicit re-run.
Data verdicts (PII, secrets, custom data detectors): `redact`, `block`, `allow`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aios.errors import ConfigError, GuardrailTripped
from aios.llm.types import Message
from aios.runtime.pipeline import Next, StepCall
from aios.security.checks import ResolvedCheck, Stage
from aios.security.decisions import DecisionHook, GuardrailDecision
from aios.security.detectors.base import Detector, Finding, detector_factory
from aios.security.masking import Masker
from aios.security.policy import EffectivePolicy, GuardrailPolicy
from aios.security.scan_cache import ScanCache
from aios.security.taint import Taint, mark_untrusted, record_taint

__all__ = ["APPROVE_ENV", "DecisionHook", "GuardrailDecision", "GuardrailLayer", "Guardrails",
           "map_strings"]

log = logging.getLogger("aios.security.guardrails")

#: Stages whose text an agent reads (scanned as documents, segment by segment).
DOCUMENT_STAGES = frozenset({Stage.output.value, Stage.tool_output.value})
#: Env value listing actions whose injection verdict an operator approved (comma-separated).
APPROVE_ENV = "AIOS_GUARDRAILS_APPROVE"
#: The shorthand field that sets a built-in check's action, for error messages.
_SHORTHAND = {("injection", "prompt"): "prompt_injection", ("injection", None): "injection",
              ("pii", None): "pii", ("secrets", None): "secrets"}


def _field(check: ResolvedCheck, stage: str) -> str:
    """The manifest field that sets `check`'s action at `stage`."""
    short = _SHORTHAND.get((check.name, stage)) or _SHORTHAND.get((check.name, None))
    return f"guardrails.{short}" if short else f"guardrails.checks.{check.name}.action"


@dataclass
class Guardrails:
    """The policy, the detectors its checks run, and where decisions go.

    Args:
        policy: the deployment's guardrail policy (`Manifest.guardrails`).
        detectors: detector instances to use by registered name (for checks without
            `params`); every other detector is built from the registry on first use.
        hooks: called with every decision (trace, audit); a failing hook is logged, not raised.
        scans: injection detectors' findings remembered per text (a conversation's earlier
            messages are not scanned again on every turn).
        data_scans: the same for data detectors that declare themselves `pure` (PII): the
            findings on a text seen before (a short answer a model gives again and again, a
            system prompt sent with every request) are not looked for again. Apart from
            `scans`, so that completions, each new, never push a conversation's injection
            results out.

    Raises:
        ConfigError: a check's detector cannot be built with its `params` (every detector the
            policy names is built here, so a bad value fails at start-up, not mid-run).
    """

    policy: GuardrailPolicy = field(default_factory=lambda: GuardrailPolicy.model_validate({}))
    detectors: Mapping[str, Detector] = field(default_factory=dict)
    hooks: Sequence[DecisionHook] = ()
    scans: ScanCache = field(default_factory=ScanCache)
    data_scans: ScanCache = field(default_factory=ScanCache)

    def __post_init__(self) -> None:
        self._built: dict[str, Detector] = dict(self.detectors)
        self._lock = threading.Lock()
        self._policies: tuple[GuardrailPolicy, dict[str | None, EffectivePolicy]] = (
            self.policy, {})
        for agent in (None, *self.policy.agents) if self.policy.enabled else ():
            for check in self.policy_for(agent).checks.values():
                if check.actions:
                    self.detector(check)

    def policy_for(self, agent: str | None) -> EffectivePolicy:
        """`policy.for_agent(agent)`, built once per agent (and again if `policy` is
        replaced): the gateway and the pipeline ask on every model call and step."""
        of, known = self._policies
        if of is not self.policy:
            of, known = self._policies = (self.policy, {})
        found = known.get(agent)
        if found is None:
            found = known[agent] = of.for_agent(agent)
        return found

    def detector(self, check: ResolvedCheck) -> Detector:
        """The detector `check` runs, built from the registry on first use.

        Raises:
            ConfigError: the detector's factory refuses the check's `params`.
        """
        found = self._built.get(check.key)
        if found is not None:
            return found
        with self._lock:  # checks run in worker threads: build each detector once
            found = self._built.get(check.key)
            if found is None:
                try:
                    found = detector_factory(check.detector)(**check.params)
                except (TypeError, ValueError, ConfigError) as exc:
                    raise ConfigError(
                        f"guardrails.checks.{check.name}.params: detector {check.detector!r} "
                        f"cannot be built with {dict(check.params)!r} ({exc}); fix the "
                        "parameters in the manifest") from exc
                self._built[check.key] = found
        return found

    def emit(self, decision: GuardrailDecision) -> None:
        """Hand `decision` to every hook and log it."""
        level = (logging.WARNING if decision.verdict in ("block", "approve", "taint")
                 else logging.INFO)
        log.log(level, "guardrail %s %s on %s (%s): %s", decision.check, decision.verdict,
                decision.subject, decision.stage,
                ", ".join(t for t, _ in decision.findings) or "nothing found")
        for hook in self.hooks:
            try:
                hook(decision)
            except Exception:  # an audit sink failing must not change the verdict
                log.exception("guardrail decision hook failed")

    # -- findings --------------------------------------------------------------------------

    def _mode(self, check: ResolvedCheck, document: bool) -> str:
        """The scan-memory mode of `check` for such text."""
        reads = document and hasattr(self.detector(check), "detect_document")
        return f"{check.key}:{'document' if reads else 'prompt'}"

    def findings(self, check: ResolvedCheck, text: str, *,
                 document: bool = False) -> list[Finding]:
        """The findings of `check`'s detector in `text` that count under the check (types,
        thresholds and allow-list applied).

        `document`: text an agent reads (tool output, documents), scanned segment by segment
        by a detector that has `detect_document`; otherwise as a prompt.
        """
        detector = self.detector(check)
        scan = getattr(detector, "detect_document", None) if document else None
        if check.kind == "injection":
            found = self.scans.get(self._mode(check, document), text, scan or detector.detect)
        elif getattr(detector, "pure", False) is True:
            found = self.data_scans.get(self._mode(check, document), text,
                                        scan or detector.detect)
        else:
            found = (scan or detector.detect)(text)
        if check.types is not None:
            found = [f for f in found if f.type in check.types]
        if check.classifier_threshold is not None:
            scored = getattr(detector, "classifier_types", None)
            found = [f for f in found if (scored is not None and f.type not in scored)
                     or f.score >= check.classifier_threshold]
        return [f for f in found if check.settings.keeps(f.text, f.score)]

    def injection_findings(self, text: str, policy: EffectivePolicy, *,
                           document: bool = False, check: str = "injection") -> list[Finding]:
        """The findings of `policy`'s check `check` (default `injection`) in `text`."""
        resolved = policy.checks.get(check)
        return self.findings(resolved, text, document=document) if resolved else []

    def data_findings(self, text: str, policy: EffectivePolicy,
                      stage: str = Stage.output) -> dict[str, list[Finding]]:
        """The findings of every data check that runs at `stage`, by check name."""
        return {c.name: self.findings(c, text) for c in policy.at(stage, "data")}

    # -- injection ------------------------------------------------------------------------

    def check_messages(self, messages: Iterable[Message], policy: EffectivePolicy, *,
                       subject: str, run_id: str | None = None) -> list[Message]:
        """Injection checks of a conversation about to reach a model.

        Tool results carry other people's text (stage `tool output`, except `trusted`
        ones: Ai:oS's own texts, such as the agent loop's schema errors); the caller's own user
        messages are stage `prompt` (the built-in check flags them by default).

        Returns:
            The messages to send: under `taint`, a flagged tool message's content is wrapped
            in the untrusted-content marker; everything else unchanged.

        Raises:
            GuardrailTripped: a check's verdict is `block` (or `approve` without approval).
        """
        messages = list(messages)
        tools = [m.content for m in messages if m.role == "tool" and not m.trusted]
        decisions = self.check_injection(tools, policy, subject=subject,
                                         stage=Stage.tool_output, run_id=run_id)
        self.check_injection([m.content for m in messages if m.role == "user"], policy,
                             subject=subject, stage=Stage.prompt, run_id=run_id)
        tainting = [policy.checks[d.check] for d in decisions if d.verdict == "taint"]
        if not tainting:
            return messages
        flagged = self.flagged_texts(tools, tainting, document=True)
        return [dataclasses.replace(m, content=mark_untrusted(m.content, flagged[m.content]))
                if m.role == "tool" and not m.trusted and m.content in flagged else m
                for m in messages]

    def scanned(self, messages: Iterable[Message], policy: EffectivePolicy) -> bool:
        """Whether `check_messages` would find every text it scans already scanned (so it
        costs no detector work, and can run on the event loop)."""
        tools = [self._mode(c, True) for c in policy.at(Stage.tool_output, "injection")]
        prompts = [self._mode(c, False) for c in policy.at(Stage.prompt, "injection")]
        for m in messages:
            if not m.content or (m.role == "tool" and m.trusted):
                continue
            modes = tools if m.role == "tool" else prompts if m.role == "user" else ()
            if not all(self.scans.known(mode, m.content) for mode in modes):
                return False
        return True

    def flagged_texts(self, texts: Iterable[str], checks: Iterable[ResolvedCheck], *,
                      document: bool = True) -> dict[str, str]:
        """{text: marker detail} for each of `texts` with a finding of one of `checks`."""
        out: dict[str, str] = {}
        checks = list(checks)
        for text in texts:
            found = [f for c in checks for f in self.findings(c, text, document=document)
                     ] if text else []
            if found:
                top = max(found, key=lambda f: f.score)
                out[text] = (f"the {top.detector} guardrail flagged possible prompt injection "
                             f"({top.type}, score {top.score:.2f})")
        return out

    def check_injection(self, texts: Iterable[str], policy: EffectivePolicy, *, subject: str,
                        stage: str, run_id: str | None = None,
                        approved: bool = False) -> list[GuardrailDecision]:
        """Run every injection check of `policy` at `stage` over `texts`; raise or record.

        Under `taint`, a finding scored at or above the check's `block_threshold` blocks;
        otherwise the verdict is `taint` and the caller marks the text and the run.

        Returns:
            One decision per check that ran.

        Raises:
            GuardrailTripped: verdict `block`, or `approve` without the operator's approval.
        """
        texts = [text for text in texts if text]
        if not texts:  # nothing to scan is no decision: no event, nothing on the hot path
            return []
        return [self._injection(check, texts, subject=subject, stage=stage, run_id=run_id,
                                approved=approved)
                for check in policy.at(stage, "injection")]

    def _injection(self, check: ResolvedCheck, texts: list[str], *, subject: str, stage: str,
                   run_id: str | None, approved: bool) -> GuardrailDecision:
        document = stage in DOCUMENT_STAGES
        fresh = not all(self.scans.known(self._mode(check, document), text) for text in texts)
        found = [f for text in texts for f in self.findings(check, text, document=document)]
        if not found:
            decision = GuardrailDecision(subject, stage, check.name, "pass", run_id=run_id)
            if fresh:  # texts that passed before (a conversation's earlier turns): no event
                self.emit(decision)
            return decision
        verdict = check.action(stage)
        top = max(found, key=lambda f: f.score)
        blocks = check.block_threshold is not None and top.score >= check.block_threshold
        if verdict == "taint" and blocks:
            verdict = "block"
        if verdict == "approve" and approved:
            verdict = "flag"
        summary = tuple((f.type, f.score) for f in found)
        decision = GuardrailDecision(subject, stage, check.name, verdict, summary, run_id,
                                     detector=top.detector)
        self.emit(decision)
        kinds = ", ".join(sorted({f.type for f in found}))
        by = "" if check.name == "injection" else f" by the {check.name} check"
        if verdict == "block":
            threshold = ("`injection_block_threshold`" if check.name == "injection" else
                         f"`checks.{check.name}.block_threshold`")
            above = (f" scored {top.score:.2f}, at or above {threshold} "
                     f"{check.block_threshold}" if check.action(stage) == "taint" else "")
            raise GuardrailTripped(
                f"{subject}: prompt injection detected{by} in its {stage} ({kinds}){above}; "
                "blocked by the guardrail policy. If the content is trusted, set "
                f"`{_field(check, stage)}: flag` for this agent in the manifest",
                decision=decision)
        if verdict == "approve":
            raise GuardrailTripped(
                f"{subject}: prompt injection detected{by} in its {stage} ({kinds}); it needs "
                f"an operator's approval: review the content, then re-run with "
                f"--env {APPROVE_ENV}={subject}", decision=decision)
        return decision

    # -- data: PII, secrets, custom data detectors ----------------------------------------

    def sanitize(self, text: str, policy: EffectivePolicy, *, subject: str, stage: str,
                 masker: Masker | None = None, run_id: str | None = None) -> str:
        """`text` with the findings of `policy`'s data checks at `stage` handled (redacted,
        or allowed).

        Raises:
            GuardrailTripped: a check whose action is `block` found something.
        """
        checks = policy.at(stage, "data") if text else ()
        if not checks:
            return text
        masker = masker or Masker()
        to_mask: list[Finding] = []
        for check in checks:
            found = self.findings(check, text)
            if not found:
                continue
            action = check.action(stage)
            top = max(found, key=lambda f: f.score)
            decision = GuardrailDecision(subject, stage, check.name, action,
                                         tuple((f.type, f.score) for f in found), run_id,
                                         detector=top.detector)
            self.emit(decision)
            if action == "block":
                kinds = ", ".join(sorted({f.type for f in found}))
                raise GuardrailTripped(
                    f"{subject}: its {stage} contains {check.name} ({kinds}); blocked by the "
                    f"guardrail policy (set `{_field(check, stage)}: redact` to mask it "
                    "instead)", decision=decision)
            if action == "redact":
                to_mask.extend(found)
        return masker.mask(text, to_mask) if to_mask else text


def _strings(value: Any) -> Iterable[str]:
    """Every string inside a JSON-like value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _strings(item)


def map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    """A copy of a JSON-like value with `fn` applied to every string."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, Mapping):
        return {k: map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(map_strings(v, fn) for v in value)
    return value


@dataclass
class GuardrailLayer:
    """Pipeline layer: the policy's checks at stages `input` (arguments) and `output` (result).

    Put it first (outermost) in the pipeline, before the approval gate: an injected argument
    taints the run before the gate decides on the same call (or is refused under `block`),
    and the result is sanitised after every other layer, so what the engine stores and
    traces is the masked (and, when flagged, marked) result.
    """

    guardrails: Guardrails

    async def __call__(self, call: StepCall, call_next: Next) -> Any:
        ctx = call.ctx
        policy = self.guardrails.policy_for(ctx.agent)
        if not policy.enabled:
            return await call_next(call)
        approved = call.action in {a.strip() for a in ctx.env.get(APPROVE_ENV, "").split(",")}
        if policy.at(Stage.input, "injection") and (inputs := list(_strings(ctx.args))):
            # The classifier takes milliseconds per text: keep it off the event loop.
            decisions = await asyncio.to_thread(
                self.guardrails.check_injection, inputs, policy, subject=call.action,
                stage=Stage.input, run_id=ctx.run_id, approved=approved)
            # Tainted before the call: the approval gate inside this layer sees it at once.
            self._taint(call, decisions)
        result = await call_next(call)
        if not (policy.at(Stage.output, "injection") or policy.at(Stage.output, "data")):
            return result
        outputs = list(_strings(result))
        if not outputs:
            return result

        def check_output() -> tuple[Any, list[GuardrailDecision]]:
            # Tool and document output is where indirect injection arrives.
            decisions = self.guardrails.check_injection(
                outputs, policy, subject=call.action, stage=Stage.output, run_id=ctx.run_id,
                approved=approved)
            tainting = [policy.checks[d.check] for d in decisions if d.verdict == "taint"]
            flagged = self.guardrails.flagged_texts(outputs, tainting) if tainting else {}
            masker = Masker()

            def handle(text: str) -> str:
                masked = self.guardrails.sanitize(text, policy, subject=call.action,
                                                  stage=Stage.output, masker=masker,
                                                  run_id=ctx.run_id)
                return mark_untrusted(masked, flagged[text]) if text in flagged else masked

            return map_strings(result, handle), decisions

        # The detectors take milliseconds per text: keep them off the event loop.
        result, decisions = await asyncio.to_thread(check_output)
        self._taint(call, decisions)
        return result

    @staticmethod
    def _taint(call: StepCall, decisions: Iterable[GuardrailDecision]) -> None:
        """Record the run's taint when one of `decisions` is a `taint` verdict (the one with
        the highest-scored finding, when several are)."""
        tainting = [d for d in decisions if d.verdict == "taint" and d.findings]
        if not tainting:
            return
        decision = max(tainting, key=lambda d: max(s for _, s in d.findings))
        kind, score = max(decision.findings, key=lambda f: f[1])
        record_taint(call.ctx, Taint(call.ctx.step_id, call.action, decision.stage,
                                     decision.detector or "injection", kind, score))
