"""The paths README.md walks a user through, checked on what the user reads (stdout, exit code).

Each test runs `aios` as a subprocess on a temporary home, as the README's commands do, and
checks the printed text a user would copy from, not the objects behind it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

AIOS = [sys.executable, "-m", "aios.cli"]

MANIFEST = """\
name: ops
agents:
  storage:
    description: Disks and files
    actions:
      disks: {handler: storage.disks}
sequences:
  nightly:
    steps:
      - action: storage.disks
"""


def aios(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIOS_HOME": str(home), "COLUMNS": "120"}
    env.pop("AIOS_DATABASE_URL", None)
    return subprocess.run([*AIOS, *args], capture_output=True, text=True, env=env, timeout=120)


def test_aios_run_prints_the_run_line_on_its_own_line_after_the_progress_table(
        tmp_path: Path) -> None:
    manifest = tmp_path / "ops.yaml"
    manifest.write_text(MANIFEST)
    proc = aios("run", "nightly", "-m", str(manifest), home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    run_lines = [line for line in lines if line.startswith("run ")]
    assert len(run_lines) == 1, proc.stdout  # not glued to the table's bottom border
    assert run_lines[0].endswith(" succeeded")
    assert lines[lines.index(run_lines[0]) - 1].rstrip().endswith("┘")


PAID = """\
name: paid
models:
  gpt:
    provider: openai
    model: gpt-4o-mini
    base_url: "{url}/v1"
    api_key_env: SCRIPTED_KEY
"""


def test_a_paid_call_of_a_few_tokens_reads_as_its_cost_in_metrics_and_traces(
        tmp_path: Path) -> None:
    """gpt-4o-mini at $0.15 / $0.60 per million tokens: 12 in + 5 out cost $0.0000048,
    which a 4-decimal format would print as $0.0000, a paid call read as free."""
    from tests.support.scripted_llm import Reply, ScriptedLLMServer

    home = tmp_path / "home"
    manifest = tmp_path / "paid.yaml"
    with ScriptedLLMServer(Reply.ok("four", usage=(12, 5))) as server:
        manifest.write_text(PAID.format(url=server.url))
        os.environ["SCRIPTED_KEY"] = "x"
        try:
            asked = aios("ask", "What is 2+2?", "-m", str(manifest), home=home)
        finally:
            os.environ.pop("SCRIPTED_KEY")
    assert asked.returncode == 0, asked.stderr
    assert "cost:    $0.0000048" in asked.stdout
    metrics = aios("metrics", home=home)
    assert metrics.returncode == 0, metrics.stderr
    # The llm row's last cell, whether latency and usage share a table or are split in two.
    llm_rows = [line.rstrip(" │") for line in metrics.stdout.splitlines() if "│ llm " in line]
    assert any(row.endswith("$0.0000048") for row in llm_rows), metrics.stdout
    # The call was made outside any action: the overall "actions" row does not carry it, and
    # the table says which calls each row counts.
    assert "actions: LLM calls made inside actions; llm: every LLM call" in metrics.stdout
    actions_rows = [line for line in metrics.stdout.splitlines() if "│ actions " in line]
    assert actions_rows and not any("$0.0000048" in row for row in actions_rows)
    traces = aios("traces", home=home)
    assert "$0.0000048" in traces.stdout, traces.stdout


def test_manifest_validate_of_a_missing_file_names_the_file_and_the_argument_given(
        tmp_path: Path) -> None:
    proc = aios("manifest", "validate", str(tmp_path / "nope.yaml"), home=tmp_path / "home")
    assert proc.returncode == 2
    assert "nope.yaml: file not found" in proc.stderr
    # The user gave FILE, not --manifest: the hint must not send them to an option they
    # did not use.
    assert "given to --manifest" not in proc.stderr


def test_an_unknown_pii_kind_names_the_field_and_line_the_user_wrote(tmp_path: Path) -> None:
    """README: "An unknown kind fails `aios manifest validate` naming the field and listing the
    kinds". The user wrote `guardrails.pii_types` on line 13; the error must point there, not
    at `guardrails:` with the internal name `checks.pii.types`."""
    manifest = tmp_path / "ops.yaml"
    manifest.write_text(MANIFEST + "guardrails:\n  pii: redact\n  pii_types: [EMAIL, PERSON]\n")
    proc = aios("manifest", "validate", str(manifest), home=tmp_path / "home")
    assert proc.returncode == 2
    assert "ops.yaml:13 [guardrails.pii_types" in proc.stderr, proc.stderr
    assert "'EMAIL'" in proc.stderr and "did you mean EMAIL_ADDRESS" in proc.stderr
    assert "GPE" in proc.stderr  # the kinds are listed


def test_a_missing_router_classifier_hints_a_command_that_exists(tmp_path: Path) -> None:
    data = tmp_path / "rows.csv"
    data.write_text("prompt,a,b,a|total_cost,b|total_cost\nhello,1,0,0.01,0.001\n")
    proc = aios("router", "evaluate", str(data), "--classifier", str(tmp_path / "nope.npz"),
                home=tmp_path / "home")
    assert proc.returncode == 2
    assert "nope.npz" in proc.stderr
    hint = proc.stderr.split("`")[1]  # the command the message tells the user to run
    assert hint.startswith("aios router train ")
    options = aios("router", "train", "--help", home=tmp_path / "home").stdout
    for word in hint.split():
        if word.startswith("--"):
            assert word in options, (word, hint)


def test_runs_keygen_with_json_prints_json(tmp_path: Path) -> None:
    """README: "Every command takes `--json`"; keygen took it and printed the bare key."""
    import json

    proc = aios("runs", "keygen", "--json", home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    assert set(json.loads(proc.stdout)) == {"key"}
