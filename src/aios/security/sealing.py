"""Encryption at rest of the real values that masking hid (`AIOS_ARGS_KEY`).

A run record keeps its arguments masked; when masking changed them, the real values are kept
only where execution needs them (a resume), sealed with Fernet (AES-128-CBC with an
HMAC-SHA256, from the `cryptography` package) under a key from the environment. The key never
reaches the store.

`AIOS_ARGS_KEY` holds one Fernet key, or several separated by commas, newest first: values are
sealed with the first and opened with any, so a rotation is `AIOS_ARGS_KEY=NEW,OLD` until the
runs sealed under OLD have finished.

Without `AIOS_ARGS_KEY`, the embedded store (SQLite under `AIOS_HOME`) uses a key file beside
it, `args.key` (created on first need, readable by its owner only), as n8n does with its
encryption key: a copy of the database alone (a backup, a file shared for a bug report)
reveals nothing, and a first `aios exec` with a token in its arguments just works. A key file
is no defence against someone who can read the home folder; set `AIOS_ARGS_KEY` from a secret
store for that, and always with PostgreSQL (several hosts must share one key).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aios.errors import ConfigError
from aios.extras import import_extra

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

__all__ = ["KEY_ENV", "ArgumentSeal", "generate_key"]

KEY_ENV = "AIOS_ARGS_KEY"
_GENERATE = ("python -c 'from cryptography.fernet import Fernet; "
             "print(Fernet.generate_key().decode())'")
_INSTALL = "pip install 'aios[security]'"


def _fernet_module() -> Any:
    return import_extra("cryptography.fernet", f"keeping masked arguments encrypted "
                                               f"({KEY_ENV}) needs the `cryptography` package: "
                                               f"{_INSTALL}")


def generate_key() -> str:
    """A new random key for `AIOS_ARGS_KEY`."""
    key: bytes = _fernet_module().Fernet.generate_key()
    return key.decode("ascii")


class ArgumentSeal:
    """Seals and opens JSON values under the keys of `AIOS_ARGS_KEY`.

    Args:
        keys: the keys, newest first (empty: the key file, when given; else none is
            configured and sealing fails with an error naming the setting).
        key_file: where the key is kept when `keys` is empty (read, or created on first
            need).

    Raises:
        ConfigError: a key is not a Fernet key (the message says how to make one).
    """

    def __init__(self, keys: Sequence[str] = (), *, key_file: Path | None = None):
        self._keys = tuple(k.strip() for k in keys if k.strip())
        self._fernet: MultiFernet | None = None
        self.key_file = None if self._keys else key_file
        if self._keys:
            self._parse()

    def _parse(self) -> None:
        """Build the cipher from `_keys`."""
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
    def from_setting(cls, value: str | None, key_file: Path | None = None) -> ArgumentSeal:
        """From the value of `AIOS_ARGS_KEY` (`Settings.args_key`): keys separated by commas;
        `key_file` when it is unset."""
        return cls(value.split(",") if value else (), key_file=key_file)

    @property
    def configured(self) -> bool:
        """True when a key is set, or a key file can hold one."""
        return self._fernet is not None or self.key_file is not None

    def _from_file(self) -> None:
        """Read the key file, creating it (owner-only, never overwritten) when absent."""
        if self._fernet is not None or self.key_file is None:
            return
        path = self.key_file
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="ascii") as out:
                    out.write(generate_key() + "\n")
            key = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"the key file {path} cannot be read or created ({exc}); set "
                              f"{KEY_ENV} instead (make a key with {_GENERATE})") from exc
        if not key:  # another process created it and is writing it: read once more
            key = path.read_text(encoding="ascii").strip()
        self._keys = (key,)
        try:
            self._parse()
        except ConfigError as exc:
            raise ConfigError(f"the key file {path} does not hold a Fernet key; restore it "
                              f"from a backup, or set {KEY_ENV} to the key it held (runs "
                              "sealed under it cannot resume otherwise)") from exc

    def seal(self, value: Any) -> str:
        """`value` (JSON-ready) encrypted under the newest key.

        Raises:
            ConfigError: no key is set.
        """
        self._from_file()
        if self._fernet is None:
            raise ConfigError(f"{KEY_ENV} is not set; make a key with {_GENERATE} and set it")
        token: bytes = self._fernet.encrypt(json.dumps(value, default=str).encode("utf-8"))
        return token.decode("ascii")

    def open(self, token: str, *, what: str) -> Any:
        """The value sealed in `token`; `what` names it in errors (`run 1a2b...`).

        Raises:
            ConfigError: no key is set, or none of the keys opens it (changed or rotated).
        """
        source = (f"the key file {self.key_file} ({KEY_ENV} is not set)"
                  if self.key_file is not None else KEY_ENV)
        self._from_file()
        if self._fernet is None:
            raise ConfigError(
                f"{what}: its real arguments are kept encrypted and {KEY_ENV} is not set; set "
                f"{KEY_ENV} to the key that was set when the run started")
        fernet = _fernet_module()
        try:
            plain = self._fernet.decrypt(token.encode("ascii"))
        except fernet.InvalidToken as exc:
            raise ConfigError(
                f"{what}: its real arguments cannot be decrypted with {source}: none of its "
                f"{len(self._keys)} key(s) is the one that was set when the run started (was "
                f"the key changed?); set {KEY_ENV} to that key, or after a rotation to "
                "'NEW,OLD' (the new key first, then the old one)") from exc
        return json.loads(plain)
