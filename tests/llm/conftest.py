"""Fixtures of the gateway tests (defined in llm_helpers, so test modules can import the
helpers next to them)."""

from tests.llm.llm_helpers import gateways, server

__all__ = ["gateways", "server"]
