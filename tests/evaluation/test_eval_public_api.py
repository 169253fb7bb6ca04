"""The public API of `aios.evaluation`: every exported name exists, the registries hold the
built-in evaluators and targets."""

from __future__ import annotations

import aios.evaluation as evaluation


def test_exported_names_exist_and_are_sorted() -> None:
    assert evaluation.__all__ == sorted(evaluation.__all__, key=lambda n: (not n.isupper(), n))
    for name in evaluation.__all__:
        assert getattr(evaluation, name) is not None, name


def test_builtin_registries() -> None:
    assert {"exact_match", "contains", "regex", "json_valid", "json_schema", "numeric",
            "embedding_similarity", "trajectory", "llm_judge", "pairwise"} <= set(
        evaluation.EVALUATORS)
    assert {"callable", "model", "http", "action"} <= set(evaluation.TARGETS)
