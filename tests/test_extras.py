"""Optional dependencies: `import_extra` returns the module or says how to install it."""

from __future__ import annotations

import sys

import pytest

from aios.errors import ConfigError
from aios.extras import import_extra


def test_a_missing_extra_is_a_config_error_with_the_given_message(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cel", None)  # as if the package were not installed
    with pytest.raises(ConfigError, match=r"^needs cel: pip install 'aios\[approvals\]'$") as got:
        import_extra("cel", "needs cel: pip install 'aios[approvals]'")
    assert isinstance(got.value.__cause__, ImportError)


def test_an_installed_module_is_returned_dotted_names_included() -> None:
    import json.decoder

    assert import_extra("json.decoder", "unused") is json.decoder
