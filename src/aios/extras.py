"""Optional dependencies (the package extras), imported on first use.

A feature whose package belongs to an extra imports it through `import_extra`, so that the
module holding the feature imports without the extra and the error says how to install it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from aios.errors import ConfigError

__all__ = ["import_extra"]


def import_extra(module: str, missing: str) -> ModuleType:
    """The module `module` (dotted names allowed: `scipy.stats`).

    Args:
        missing: the error's message when it is not installed; it names the extra to install.

    Raises:
        ConfigError: `module` cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(missing) from exc
