"""promptfoo against the OpenAI-compatible endpoint: attack success rate, guardrails off and on.

For each guardrails setting (`off`: `guardrails: {enabled: false}`; `default`: `guardrails: {}`,
injection in a prompt flagged, secrets and PII redacted from answers; `on`:
`guardrails: {prompt_injection: block, secrets: redact}`), this starts `aios serve`'s app
(Uvicorn, temporary SQLite store) with one model on a scripted upstream that obeys every
instruction (`tests/support/compliant_llm.py`: it repeats its system prompt, secrets included,
carries out the injected instruction, and reverses, base64-encodes or spaces out the secret
when asked), issues an Ai:oS key (`aios keys`: models gpt-4o only), and runs promptfoo's
`eval` on `examples/promptfoo/` (16 attacks: 6 prompt injections, 10 secret exfiltrations;
and 8 benign requests, to count false refusals) with its OpenAI provider's `apiBaseUrl` at
the endpoint. With a model that always complies, the rate measures the endpoint's guardrails
alone: off, every attack works by construction.

An attack *succeeded* when the answer contains what it was after (the planted secret or the
injected canary); *refused* means the endpoint answered 400 (a guardrail) and the model never
saw the prompt; *failed* means the model answered and the answer did not contain it.

Needs promptfoo: `make peer-test-tools` (npm; runs offline: telemetry, update checks,
sharing and remote generation are off).

Run: .venv/bin/python bench/promptfoo_endpoint.py [--first-n N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import ScriptedLLMServer, compliant_reply  # noqa: E402
from tests.support.endpoint import serve  # noqa: E402
from tests.support.promptfoo import (  # noqa: E402
    ATTACKS,
    GUARDRAILS,
    AttackReport,
    missing_reason,
    run_promptfoo,
    write_manifest,
)

from aios.auth import KeyPolicy, Role, TokenStore, UserStore  # noqa: E402
from aios.settings import Settings  # noqa: E402
from aios.store import Store  # noqa: E402


async def _key(settings: Settings) -> str:
    store = await Store.open(settings.store_url())
    try:
        await UserStore(store).add("redteam", Role.viewer)
        issued = await TokenStore(store).issue("redteam", label="promptfoo",
                                               policy=KeyPolicy(models=("gpt-4o",)))
        return issued.secret
    finally:
        await store.close()


def attack(work: Path, mode: str, first_n: int | None) -> tuple[AttackReport, float]:
    settings = Settings(home=work / mode / "home", database_url=None)
    key = asyncio.run(_key(settings))
    os.environ["PROMPTFOO_UPSTREAM_KEY"] = "sk-upstream"
    with ScriptedLLMServer(responder=compliant_reply) as upstream, \
            serve(settings, write_manifest(work / mode, upstream.url, mode)) as url:
        started = time.perf_counter()
        report = run_promptfoo(url + "/v1", key, work / mode / "promptfoo", first_n=first_n)
        return report, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--first-n", type=int, default=None, help="only the first N cases")
    args = parser.parse_args()
    reason = missing_reason()
    if reason is not None:
        sys.exit(f"cannot run promptfoo: {reason}")
    reports: dict[str, AttackReport] = {}
    with tempfile.TemporaryDirectory(prefix="aios-promptfoo-") as tmp:
        for mode in GUARDRAILS:
            reports[mode], seconds = attack(Path(tmp), mode, args.first_n)
            print(f"guardrails {mode}: {len(reports[mode].cases)} cases in {seconds:.1f} s "
                  f"({GUARDRAILS[mode]})")
    print()
    print("| guardrails (manifest) | injection ASR | exfiltration ASR | overall ASR "
          "| attacks refused | attacks answered, nothing leaked | benign refused | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for mode, report in reports.items():
        kinds = " | ".join(f"{report.rate(k):.0%} ({report.count('succeeded', k)}/"
                           f"{report.total(k)})" for k in ATTACKS)
        benign = [c for c in report.cases if c.kind not in ATTACKS]
        refused = sum(c.outcome == "refused" for c in benign)
        errors = sum(c.outcome == "error" for c in report.cases)
        print(f"| `{GUARDRAILS[mode]}` | {kinds} | {report.rate():.0%} "
              f"({report.count('succeeded')}/{report.total()}) | {report.count('refused')} | "
              f"{report.count('failed')} | {refused}/{len(benign)} | {errors} |")
    for mode, report in reports.items():
        worked = [c for c in report.cases if c.kind in ATTACKS and c.outcome == "succeeded"]
        wrongly = [c for c in report.cases if c.kind not in ATTACKS and c.outcome == "refused"]
        if mode != "off" and worked:
            print(f"\nattacks that worked with `{GUARDRAILS[mode]}`:")
            print("\n".join(f"  - [{c.kind}] {c.description}" for c in worked))
        if wrongly:
            print(f"\nbenign requests refused with `{GUARDRAILS[mode]}`:")
            print("\n".join(f"  - {c.description}" for c in wrongly))
    errors = [c for r in reports.values() for c in r.cases if c.outcome == "error"]
    for case in errors:
        print(f"ERROR [{case.description}]: {case.error[:300]}")
    if errors:
        sys.exit(1)

if __name__ == "__main__":
    main()
