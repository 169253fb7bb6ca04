"""Errors a user meets on the README's paths name the setting or file to fix, and how."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from aios.cli.main import app

runner = CliRunner()


def test_a_manifest_named_by_aios_manifest_that_is_missing_names_the_variable(
        tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(app, ["manifest", "validate"], env={"AIOS_MANIFEST": str(missing)})
    assert result.exit_code == 2
    assert str(missing) in result.stderr and "AIOS_MANIFEST" in result.stderr


def test_a_store_url_of_an_unsupported_database_names_the_variable_and_the_choices() -> None:
    result = runner.invoke(app, ["runs"], env={"AIOS_DATABASE_URL": "mysql://db/aios"})
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "AIOS_DATABASE_URL" in message
    assert "postgresql://" in message and "sqlite" in message
