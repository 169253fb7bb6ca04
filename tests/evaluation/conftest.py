"""Fixtures of the evaluation tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.evaluation.eval_helpers import make_no_sleep


@pytest.fixture
def no_sleep() -> tuple[list[float], Callable[[float], Any]]:
    """A sleep that records the delays asked for and returns at once."""
    return make_no_sleep()
