"""Checks on model text: loops are caught, ordinary answers pass, facts ground numbers."""

from __future__ import annotations

import pytest

from aios.modeltext import fact_text, repetition, ungrounded


@pytest.mark.parametrize("text", [
    "The health report is a warning, and the health report is a warning",
    "ls\nls\nls\nls\nls\nls\nls\nls\nls",
    "ls ls ls ls ls ls ls ls ls ls",
    "Check the disk. Check the disk. Check the disk.",
])
def test_loops_are_caught(text: str) -> None:
    assert repetition(text)


@pytest.mark.parametrize("text", [
    "Paris is the capital of France.",
    "Memory is at 40%; the disk on / is 91% full, so look at the disk first.",
    "Use `ls -la` to list files. Use `ls -R` to recurse.",
])
def test_ordinary_text_passes(text: str) -> None:
    assert repetition(text) is None


def test_numbers_and_names_must_be_in_the_facts() -> None:
    facts = fact_text({"mounts": [{"mountpoint": "/var", "percent": 91.37}],
                       "sysctl": {"net.ipv4.ip_forward": 1}})
    assert ungrounded("/var is 91.4% full; net.ipv4.ip_forward is 1.", facts) == []
    assert ungrounded("/home is 93% full; kernel.sysrq is on.", facts) == [
        "93", "/home", "kernel.sysrq"]
    assert ungrounded("Ai:oS says all is well.", facts, allowed=["Ai:oS"]) == []
