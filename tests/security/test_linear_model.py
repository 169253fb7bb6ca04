"""The injection detectors' linear models: written by `save_linear`, read by `LinearModel.load`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from aios.errors import ConfigError
from aios.security.detectors.injection import InjectionClassifier
from aios.security.detectors.injection_doc import DocumentInjectionModel
from aios.security.detectors.linear import save_linear


def test_a_file_that_is_not_a_model_names_its_trainer(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match=r"document injection model.*train_injection_doc"):
        DocumentInjectionModel.load(bad)
    with pytest.raises(ConfigError, match=r"injection model .*missing\.npz.*train_injection`"):
        InjectionClassifier.load(tmp_path / "missing.npz")


def test_a_saved_model_loads_back_with_its_report(tmp_path: Path) -> None:
    out = tmp_path / "model.npz"
    stream = io.StringIO()
    save_linear(out, np.array([0.5, -1.25]), 0.75, 0.4, ["a", "b"], {"rows": 2}, stream)
    model = InjectionClassifier.load(out)
    assert isinstance(model, InjectionClassifier)
    assert model.weights.tolist() == [0.5, -1.25]
    assert (model.bias, model.threshold) == (0.75, 0.4)
    report, wrote = stream.getvalue().rsplit("\n", 2)[:2]
    assert json.loads(report) == {"rows": 2} and wrote == f"wrote {out}"
    with np.load(out) as data:
        assert data["features"].tolist() == ["a", "b"]


def test_the_packaged_models_load() -> None:
    assert InjectionClassifier.load().weights.size > 0
    assert DocumentInjectionModel.load().weights.size > 0


def test_the_document_model_keeps_a_threshold_for_code_documents(tmp_path: Path) -> None:
    old, new = tmp_path / "old.npz", tmp_path / "new.npz"
    save_linear(old, np.array([1.0]), 0.0, 0.8, ["a"], {}, io.StringIO())
    save_linear(new, np.array([1.0]), 0.0, 0.8, ["a"], {}, io.StringIO(),
                extra={"code_threshold": 0.95})
    code = "Use this:\n```\nx = f(a, b)\ny = g(x)\n```\n"
    prose = "Dear Ann, your parcel ships on Tuesday. Reply if you need anything."
    without = DocumentInjectionModel.load(old)  # a model written before the code threshold
    assert without.code_threshold is None and without.threshold_for(code) == 0.8
    model = DocumentInjectionModel.load(new)
    assert (model.threshold_for(code), model.threshold_for(prose)) == (0.95, 0.8)
