"""Encryption at rest of the real values that masking hid (`AIOS_ARGS_KEY`).

A run record keeps its arguments masked; when masking changed them, the real values are kept
only where execution needs them (a resume), sealed with Fernet (AES-128-CBC with an
HMAC-SHA256, from the `cryptography` package) under a key from the environment. The key never
reaches the store.

`AIOS_ARGS_KEY` holds one Fernet key, or several separated by commas, newest first: values are
sealed with the first and opened with any, so a rotation is `AIOS_ARGS_KEY=NEW,OLD` until the
runs sealed under OLD have finished.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aios.errors import ConfigError

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

__all__ = ["KEY_ENV", "ArgumentSeal", "generate_key"]

KEY_ENV = "AIOS_ARGS_KEY"
_GENERATE = ("python -c 'from cryptography.fernet import Fernet; "
             "print(Fernet.generate_key().decode())'")
_INSTALL = "pip install 'aios[security]'"


def _fernet_module() -> Any:
    try:
        from cryptography import fernet
    except ImportError as exc:
        raise ConfigError(f"keeping masked arguments encrypted ({KEY_ENV}) needs the "
                          f"`cryptography` package: {_INSTALL}") from exc
    return fernet


def generate_key() -> str:
    """A new random key for `AIOS_ARGS_KEY`."""
    key: bytes = _fernet_module().Fernet.generate_key()
    return key.decode("ascii")


class ArgumentSeal:
    """Seals and opens JSON values under the keys of `AIOS_ARGS_KEY`.

    Args:
        keys: the keys, newest first (empty: none is configured; sealing then fails with an
            error naming the setting).

    Raises:
        ConfigError: a key is not a Fernet key (the message says how to make one).
    """

    def __init__(self, keys: Sequence[str] = ()):
        self._keys = tuple(k.strip() for k in keys if k.strip())
        self._fernet: MultiFernet | None = None
        if self._keys:
            fernet = _fernet_module()
            parsed = []
            for index, key in enumerate(self._keys, 1):
                try:
                    parsed.append(fernet.Fernet(key.encode("ascii")))
                except (ValueError, UnicodeEncodeError) as exc:
                    where = f"key {index} of {len(self._keys)}" if len(self._keys) > 1 else "it"
                    raise ConfigError(
                        f"{KEY_ENV}: {where} is not a Fernet key (32 url-safe base64-encoded "
                        f"bytes, 44 characters); make one with {_GENERATE}") from exc
            self._fernet = fernet.MultiFernet(parsed)

    @classmethod
    def from_setting(cls, value: str | None) -> ArgumentSeal:
        """From the value of `AIOS_ARGS_KEY` (`Settings.args_key`): keys separated by commas."""
        return cls(value.split(",") if value else ())

    @property
    def configured(self) -> bool:
        """True when a key is set."""
        return self._fernet is not None

    def seal(self, value: Any) -> str:
        """`value` (JSON-ready) encrypted under the newest key.

        Raises:
            ConfigError: no key is set.
        """
        if self._fernet is None:
            raise ConfigError(f"{KEY_ENV} is not set; make a key with {_GENERATE} and set it")
        token: bytes = self._fernet.encrypt(json.dumps(value, default=str).encode("utf-8"))
        return token.decode("ascii")

    def open(self, token: str, *, what: str) -> Any:
        """The value sealed in `token`; `what` names it in errors (`run 1a2b...`).

        Raises:
            ConfigError: no key is set, or none of the keys opens it (changed or rotated).
        """
        if self._fernet is None:
            raise ConfigError(
                f"{what}: its real arguments are kept encrypted and {KEY_ENV} is not set; set "
                f"{KEY_ENV} to the key that was set when the run started")
        fernet = _fernet_module()
        try:
            plain = self._fernet.decrypt(token.encode("ascii"))
        except fernet.InvalidToken as exc:
            raise ConfigError(
                f"{what}: its real arguments cannot be decrypted with {KEY_ENV}: none of its "
                f"{len(self._keys)} key(s) is the one that was set when the run started (was "
                f"the key changed?); set {KEY_ENV} to that key, or after a rotation to "
                "'NEW,OLD' (the new key first, then the old one)") from exc
        return json.loads(plain)
