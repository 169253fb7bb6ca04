"""What a run record keeps of a run's arguments and environment: masked, the real values sealed.

A run record's `options` hold what a resume needs: the arguments of a single-action run
(`aios exec`) and the run's environment. They are stored masked (`aios.security.arguments`);
when masking changed anything, the real values are kept under `options["sealed"]`, encrypted
with `AIOS_ARGS_KEY` (`aios.security.sealing`), or not at all when the action says
`keep_arguments: false` (`options["not_kept"]` then says why, and a resume refuses). Without a
key, a run whose values needed masking is refused before anything runs: better than a run
that waits for an approval it can never use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aios.errors import ConfigError
from aios.manifest.schema import Action
from aios.security.arguments import ArgumentMasker
from aios.security.sealing import KEY_ENV, ArgumentSeal

__all__ = ["ArgumentKeeper", "restore_options"]

#: The options a seal covers (the rest are stored as they are): a single-action run's
#: arguments, an agent run's goal, every run's environment.
_SEALED = ("args", "env", "goal")


@dataclass
class ArgumentKeeper:
    """Builds the options a run record stores, and gives a resume the real ones back.

    Args:
        masker: masks values (shared with the error texts the run store records).
        seal: the key(s) of `AIOS_ARGS_KEY` (none: values that needed masking are refused).
    """

    masker: ArgumentMasker = field(default_factory=ArgumentMasker)
    seal: ArgumentSeal = field(default_factory=ArgumentSeal)
    #: The last environment masked (JSON) and its masked form: most runs share one.
    _env: tuple[str, Any] | None = field(default=None, init=False, repr=False)

    async def _mask(self, name: str, value: Any) -> Any:
        if name != "env":
            return await self.masker.avalue(value)
        key = json.dumps(value, sort_keys=True, default=str)
        if self._env is None or self._env[0] != key:
            self._env = (key, await self.masker.avalue(value))
        return self._env[1]

    async def options(self, real: Mapping[str, Any], *, target: str,
                      action: Action | None = None) -> dict[str, Any]:
        """The options to store for a run of `target` whose real options are `real`.

        `action`: the action of a single-action run (its `keep_arguments`).

        Raises:
            ConfigError: masking changed something, the values are to be kept, and no key
                is set (the message names the setting and the manifest field).
        """
        stored = dict(real)
        changed = []
        for name in _SEALED:
            if name in real:
                stored[name] = await self._mask(name, real[name])
                if stored[name] != real[name]:
                    changed.append(name)
        if not changed:
            return stored
        if action is not None and not action.keep_arguments:
            stored["not_kept"] = (f"{target} says `keep_arguments: false`: its real "
                                  f"{' and '.join(changed)} were never stored")
            return stored
        if not self.seal.configured:
            where = (f"`keep_arguments: false` on action {target} (a run of it that stops "
                     "then cannot resume)" if action is not None else "")
            raise ConfigError(
                f"{target}: the run's {' and '.join(changed)} hold secrets or personal data, "
                f"which the run record keeps masked, and the real values (which a resume "
                f"needs) are kept only encrypted: set {KEY_ENV} (make a key with `aios runs "
                f"keygen`)" + (f", or declare {where}" if where else "")
                + "; nothing was run")
        stored["sealed"] = self.seal.seal({name: real[name] for name in changed})
        return stored

    def restore(self, options: Mapping[str, Any], *, run_id: str) -> dict[str, Any]:
        """`restore_options` with this keeper's seal."""
        return restore_options(options, self.seal, run_id=run_id)

    def entry(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """An agent run's conversation entry as stored: masked, the real one sealed when
        masking changed it (without a key: `not_kept`, and a resume of the run refuses).

        Synchronous (the agent loop appends entries in order); the detectors take a few
        milliseconds per string, small beside a model turn.
        """
        masked: dict[str, Any] = self.masker.value(dict(data))
        if masked == data:
            return masked
        if not self.seal.configured:
            masked["not_kept"] = (f"an entry held secrets or personal data and {KEY_ENV} was "
                                  "not set, so its real values were never stored")
        else:
            masked["sealed"] = self.seal.seal(dict(data))
        return masked

    def open_entry(self, data: Mapping[str, Any], *, run_id: str) -> dict[str, Any]:
        """The real entry of a stored (masked) one, for a resume.

        Raises:
            ConfigError: its values were not kept, or the key is missing or wrong.
        """
        if data.get("not_kept"):
            raise ConfigError(f"run {run_id[:12]} cannot resume: {data['not_kept']}; set "
                              f"{KEY_ENV} (`aios runs keygen`) and start the agent again")
        token = data.get("sealed")
        if not token:
            return dict(data)
        real: dict[str, Any] = self.seal.open(str(token), what=f"run {run_id[:12]}")
        return real


def restore_options(options: Mapping[str, Any], seal: ArgumentSeal, *,
                    run_id: str) -> dict[str, Any]:
    """A run record's options with the real values of what was masked put back.

    Raises:
        ConfigError: the values were not kept (`keep_arguments: false`), no key is set, or
            the key does not open them (each message says what to do).
    """
    out = dict(options)
    not_kept = out.pop("not_kept", None)
    if not_kept:
        raise ConfigError(f"run {run_id[:12]} cannot resume: {not_kept} (they held secrets "
                          "or personal data); start the action again")
    token = out.pop("sealed", None)
    if token:
        out.update(seal.open(str(token), what=f"run {run_id[:12]}"))
    return out
