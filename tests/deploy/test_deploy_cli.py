"""`aios deploy prepare` and `aios deploy executor`, run as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

AIOS = [sys.executable, "-m", "aios.cli"]


def aios(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AIOS, *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOS_")}
    return {**env, "AIOS_HOME": str(tmp_path / "home"), **extra}


def test_prepare_migrates_the_store_once_and_lists_the_revisions(tmp_path: Path) -> None:
    done = aios("deploy", "prepare", "--json", env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["dialect"] == "sqlite"
    assert report["store"].endswith(str(tmp_path / "home" / "aios.db"))
    assert report["revisions"]  # one head per subsystem branch
    assert report["executor"] == "local"
    assert (tmp_path / "home" / "aios.db").exists()


@pytest.mark.postgres
def test_prepare_hides_the_database_password(postgres_url: str, tmp_path: Path) -> None:
    url = postgres_url.replace("postgres@", "postgres:s3cret@", 1)
    done = aios("deploy", "prepare", "--json", env=_env(tmp_path, AIOS_DATABASE_URL=url))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["dialect"] == "postgresql"
    assert "s3cret" not in done.stdout and "***" in report["store"]


def test_executor_reports_where_actions_run(tmp_path: Path) -> None:
    done = aios("deploy", "executor", "--json", env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["executor"] == "local"
