"""Runtime guardrails: the checks, the pipeline layer, and the decisions they emit.

`Guardrails` holds the policy, the detectors and the decision hooks; `GuardrailLayer` applies
it to every action (arguments in, result out) and `GuardrailProvider` (streaming.py) to every
LLM call. Each check produces a `GuardrailDecision`, handed to every hook (trace exporter,
audit log) and logged, whatever the verdict.

Injection verdicts: `taint` (the default for action input and output) passes the text on,
flagged output wrapped in an untrusted-content marker, and marks the run tainted so its later
mutating actions need an approval (`aios.security.taint`); at or above
`injection_block_threshold` it blocks instead. `block` raises `GuardrailTripped`; `flag`
records and continues;
`approve` raises `GuardrailTripped` saying how to approve: re-run with the action named in
the `AIOS_GUARDRAILS_APPROVE` env value (`--env AIOS_GUARDRAILS_APPROVE=agent.key`), which
turns the verdict into `flag` for that action. The approval gate cannot be asked from here
(it decides on the action, before its output exists), hence this explicit re-run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aios.errors import GuardrailTripped
from aios.llm.types import Message
from aios.runtime.pipeline import Next, StepCall
from aios.security.detectors.base import Detector, Finding
from aios.security.detectors.injection import InjectionDetector
from aios.security.detectors.pii import PiiDetector
from aios.security.detectors.secrets import SecretsDetector
from aios.security.masking import Masker
from aios.security.policy import DataAction, EffectivePolicy, GuardrailPolicy, InjectionAction
from aios.security.scan_cache import ScanCache
from aios.security.taint import Taint, mark_untrusted, record_taint

__all__ = ["APPROVE_ENV", "DecisionHook", "GuardrailDecision", "GuardrailLayer", "Guardrails",
           "map_strings"]

log = logging.getLogger("aios.security.guardrails")

#: Stages whose text an agent reads (scanned as documents, segment by segment).
DOCUMENT_STAGES = frozenset({"output", "tool output"})
#: Env value listing actions whose injection verdict an operator approved (comma-separated).
APPROVE_ENV = "AIOS_GUARDRAILS_APPROVE"


@dataclass(frozen=True)
class GuardrailDecision:
    """One guardrail check and its outcome.

    Attributes:
        subject: what was checked: an action (`agent.key`) or a model name.
        stage: `input`, `output`, `prompt` or `completion`.
        check: `injection`, `pii` or `secrets`.
        verdict: `pass`, `block`, `flag`, `approve`, `redact` or `allow`.
        findings: (type, score) of what was found; never the values themselves.
        run_id: the run, when the check ran inside one.
        detector: the detector of the highest-scored finding, when something was found.
    """

    subject: str
    stage: str
    check: str
    verdict: str
    findings: tuple[tuple[str, float], ...] = ()
    run_id: str | None = None
    detector: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"subject": self.subject, "stage": self.stage, "check": self.check,
                "verdict": self.verdict, "run_id": self.run_id,
                "detector": self.detector,
                "findings": [{"type": t, "score": round(s, 3)} for t, s in self.findings]}


DecisionHook = Callable[[GuardrailDecision], None]


@dataclass
class Guardrails:
    """The policy, the detectors, and where decisions go.

    Args:
        policy: the deployment's guardrail policy (`Manifest.guardrails`).
        injection: the injection detector (default: heuristics + the packaged classifier).
        pii: the PII detector.
        secrets: the secrets detector.
        hooks: called with every decision (trace, audit); a failing hook is logged, not raised.
        scans: the injection detector's findings remembered per text (a conversation's earlier
            messages are not scanned again on every turn).
    """

    policy: GuardrailPolicy = field(default_factory=lambda: GuardrailPolicy.model_validate({}))
    injection: Detector | None = None
    pii: Detector | None = None
    secrets: Detector | None = None
    hooks: Sequence[DecisionHook] = ()
    scans: ScanCache = field(default_factory=ScanCache)

    def __post_init__(self) -> None:
        self.injection = self.injection or InjectionDetector()
        self.pii = self.pii or PiiDetector()
        self.secrets = self.secrets or SecretsDetector()
        self._policies: tuple[GuardrailPolicy, dict[str | None, EffectivePolicy]] = (
            self.policy, {})

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

    # -- injection ------------------------------------------------------------------------

    def injection_findings(self, text: str, policy: EffectivePolicy, *,
                           document: bool = False) -> list[Finding]:
        """Injection findings in `text` that count under `policy` (threshold applied).

        `document`: text an agent reads (tool output, documents), scanned segment by segment
        by a detector that has `detect_document`; otherwise as a prompt.
        """
        assert self.injection is not None
        scan = getattr(self.injection, "detect_document", None) if document else None
        found: list[Finding] = (self.scans.get("document", text, scan) if scan is not None
                                else self.scans.get("prompt", text, self.injection.detect))
        if policy.injection_threshold is not None:
            found = [f for f in found if f.type not in ("injection", "planted_instruction")
                     or f.score >= policy.injection_threshold]
        settings = policy.detector("injection")
        return [f for f in found if settings.keeps(f.text, f.score)]

    def check_messages(self, messages: Iterable[Message], policy: EffectivePolicy, *,
                       subject: str, run_id: str | None = None) -> list[Message]:
        """Injection checks of a conversation about to reach a model.

        Tool results carry other people's text and follow `injection` (except `trusted`
        ones: Ai:oS's own texts, such as the agent loop's schema errors); the caller's own user
        messages follow `prompt_injection` (flag by default).

        Returns:
            The messages to send: under `taint`, a flagged tool message's content is wrapped
            in the untrusted-content marker; everything else unchanged.

        Raises:
            GuardrailTripped: a check's verdict is `block` (or `approve` without approval).
        """
        messages = list(messages)
        tools = [m.content for m in messages if m.role == "tool" and not m.trusted]
        decision = self.check_injection(tools, policy, subject=subject, stage="tool output",
                                        run_id=run_id)
        self.check_injection([m.content for m in messages if m.role == "user"],
                             policy.model_copy(update={"injection": policy.prompt_injection}),
                             subject=subject, stage="prompt", run_id=run_id)
        if decision.verdict != "taint":
            return messages
        flagged = self.flagged_texts(tools, policy, document=True)
        return [dataclasses.replace(m, content=mark_untrusted(m.content, flagged[m.content]))
                if m.role == "tool" and not m.trusted and m.content in flagged else m
                for m in messages]

    def _mode(self, document: bool) -> str:
        """The scan-memory mode `injection_findings` uses for such text."""
        return ("document" if document and hasattr(self.injection, "detect_document")
                else "prompt")

    def scanned(self, messages: Iterable[Message]) -> bool:
        """Whether `check_messages` would find every text it scans already scanned (so it
        costs no detector work, and can run on the event loop)."""
        return all(self.scans.known(self._mode(m.role == "tool"), m.content)
                   for m in messages
                   if m.content and (m.role == "user" or (m.role == "tool" and not m.trusted)))

    def flagged_texts(self, texts: Iterable[str], policy: EffectivePolicy, *,
                      document: bool = True) -> dict[str, str]:
        """{text: marker detail} for each of `texts` with an injection finding."""
        out: dict[str, str] = {}
        for text in texts:
            found = self.injection_findings(text, policy, document=document) if text else []
            if found:
                top = max(found, key=lambda f: f.score)
                out[text] = (f"the {top.detector} guardrail flagged possible prompt injection "
                             f"({top.type}, score {top.score:.2f})")
        return out

    def check_injection(self, texts: Iterable[str], policy: EffectivePolicy, *, subject: str,
                        stage: str, run_id: str | None = None,
                        approved: bool = False) -> GuardrailDecision:
        """Scan `texts`; raise or record per `policy.injection`.

        Under `taint`, a finding scored at or above `policy.injection_block_threshold` blocks;
        otherwise the verdict is `taint` and the caller marks the text and the run.

        Raises:
            GuardrailTripped: verdict `block`, or `approve` without the operator's approval.
        """
        texts = [text for text in texts if text]
        if not texts or not policy.enabled or policy.injection is InjectionAction.off:
            # Nothing to scan is no decision: no event, nothing on the hot path.
            return GuardrailDecision(subject, stage, "injection", "pass", run_id=run_id)
        document = stage in DOCUMENT_STAGES
        fresh = not all(self.scans.known(self._mode(document), text) for text in texts)
        found = [f for text in texts
                 for f in self.injection_findings(text, policy, document=document)]
        if not found:
            decision = GuardrailDecision(subject, stage, "injection", "pass", run_id=run_id)
            if fresh:  # texts that passed before (a conversation's earlier turns): no event
                self.emit(decision)
            return decision
        verdict = policy.injection.value
        top = max(found, key=lambda f: f.score)
        if (verdict == "taint" and policy.injection_block_threshold is not None
                and top.score >= policy.injection_block_threshold):
            verdict = "block"
        if verdict == "approve" and approved:
            verdict = "flag"
        summary = tuple((f.type, f.score) for f in found)
        decision = GuardrailDecision(subject, stage, "injection", verdict, summary, run_id,
                                     detector=top.detector)
        self.emit(decision)
        kinds = ", ".join(sorted({f.type for f in found}))
        if verdict == "block":
            above = (f" scored {top.score:.2f}, at or above `injection_block_threshold` "
                     f"{policy.injection_block_threshold}"
                     if policy.injection is InjectionAction.taint else "")
            raise GuardrailTripped(
                f"{subject}: prompt injection detected in its {stage} ({kinds}){above}; "
                "blocked by the guardrail policy. If the content is trusted, set "
                "`guardrails.injection: flag` for this agent in the manifest")
        if verdict == "approve":
            raise GuardrailTripped(
                f"{subject}: prompt injection detected in its {stage} ({kinds}); it needs an "
                f"operator's approval: review the content, then re-run with "
                f"--env {APPROVE_ENV}={subject}")
        return decision

    # -- PII and secrets ------------------------------------------------------------------

    def data_findings(self, text: str, policy: EffectivePolicy) -> dict[str, list[Finding]]:
        """PII and secret findings in `text`, by check name."""
        assert self.pii is not None and self.secrets is not None
        pii = self.pii.detect(text)
        if policy.pii_types is not None:
            pii = [f for f in pii if f.type in policy.pii_types]
        found = {"pii": pii, "secrets": self.secrets.detect(text)}
        return {name: [f for f in items if policy.detector(name).keeps(f.text, f.score)]
                for name, items in found.items()}

    def sanitize(self, text: str, policy: EffectivePolicy, *, subject: str, stage: str,
                 masker: Masker | None = None, run_id: str | None = None) -> str:
        """`text` with PII and secrets handled per `policy` (redacted, or allowed).

        Raises:
            GuardrailTripped: a check whose action is `block` found something.
        """
        if not policy.enabled or not text:
            return text
        masker = masker or Masker()
        to_mask: list[Finding] = []
        for check, found in self.data_findings(text, policy).items():
            action: DataAction = getattr(policy, check)
            if not found:
                continue
            summary = tuple((f.type, f.score) for f in found)
            self.emit(GuardrailDecision(subject, stage, check, action.value, summary, run_id))
            if action is DataAction.block:
                kinds = ", ".join(sorted({f.type for f in found}))
                raise GuardrailTripped(
                    f"{subject}: its {stage} contains {check} ({kinds}); blocked by the "
                    f"guardrail policy (set `guardrails.{check}: redact` to mask it instead)")
            if action is DataAction.redact:
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
    """Pipeline layer: injection checks on arguments and results, PII/secrets on results.

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
        if policy.scan_inputs and (inputs := list(_strings(ctx.args))):
            # The classifier takes milliseconds per text: keep it off the event loop.
            decision = await asyncio.to_thread(
                self.guardrails.check_injection, inputs, policy, subject=call.action,
                stage="input", run_id=ctx.run_id, approved=approved)
            # Tainted before the call: the approval gate inside this layer sees it at once.
            self._taint(call, decision)
        result = await call_next(call)
        if not policy.scan_outputs:
            return result
        outputs = list(_strings(result))
        if not outputs:
            return result

        def check_output() -> tuple[Any, GuardrailDecision]:
            # Tool and document output is where indirect injection arrives.
            decision = self.guardrails.check_injection(
                outputs, policy, subject=call.action, stage="output", run_id=ctx.run_id,
                approved=approved)
            flagged = (self.guardrails.flagged_texts(outputs, policy)
                       if decision.verdict == "taint" else {})
            masker = Masker()

            def handle(text: str) -> str:
                masked = self.guardrails.sanitize(text, policy, subject=call.action,
                                                  stage="output", masker=masker,
                                                  run_id=ctx.run_id)
                return mark_untrusted(masked, flagged[text]) if text in flagged else masked

            return map_strings(result, handle), decision

        # The detectors take milliseconds per text: keep them off the event loop.
        result, decision = await asyncio.to_thread(check_output)
        self._taint(call, decision)
        return result

    @staticmethod
    def _taint(call: StepCall, decision: GuardrailDecision) -> None:
        """Record the run's taint when `decision` is a `taint` verdict."""
        if decision.verdict != "taint" or not decision.findings:
            return
        kind, score = max(decision.findings, key=lambda f: f[1])
        record_taint(call.ctx, Taint(call.ctx.step_id, call.action, decision.stage,
                                     decision.detector or "injection", kind, score))
