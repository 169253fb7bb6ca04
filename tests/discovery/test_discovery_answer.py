"""`aios discover "question"` ends with the answer: claims with citations, or "not found"."""

from __future__ import annotations

import json
from pathlib import Path

from tests.discovery.conftest import GOLD
from typer.testing import CliRunner

from aios.cli.main import app
from aios.discovery import KnowledgeGraph
from aios.discovery.answer import answer_question, asked_relations

QUESTION = "Who founded the companies of Kestrel Bay?"


def _founders() -> set[tuple[str, str]]:
    rows = [json.loads(line) for line in GOLD.read_text().splitlines() if line.strip()]
    return {(r["subject"], r["object"]) for r in rows if r.get("relation") == "founded_by"}


def test_the_question_names_the_relation_it_asks_for() -> None:
    assert asked_relations(QUESTION) == ["founded_by"]
    assert "developed" in asked_relations("What did they build?")


def test_discover_ends_with_the_founders_and_their_citations(corpus: Path) -> None:
    result = CliRunner().invoke(app, ["discover", QUESTION, "--source", f"corpus:{corpus}",
                                      "--budget-steps", "40"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    answer = result.stdout[result.stdout.rindex("answer"):]
    gold = _founders()
    named = [(company, founder) for company, founder in gold
             if company in answer and founder in answer]
    assert named, answer  # at least one company with its founder, from the gold facts
    assert "founded by" in answer and (".md" in answer or ".html" in answer)  # cited
    as_json = CliRunner().invoke(app, ["discover", QUESTION, "--source", f"corpus:{corpus}",
                                       "--budget-steps", "40", "--json"])
    data = json.loads(as_json.stdout)
    assert data["answer"]["found"] and data["answer"]["claims"][0]["citations"]


def test_nothing_found_says_what_was_searched() -> None:
    answer = answer_question("Who founded Atlantis?", KnowledgeGraph())
    assert not answer["found"]
    assert "founded_by" in answer["searched"] and "0 claims" in answer["searched"]
