"""The weights of the injection detectors' logistic models, read from their .npz files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from aios.errors import ConfigError

__all__ = ["load_linear"]


def load_linear(source: Path, what: str,
                trainer: str) -> tuple[npt.NDArray[np.float64], float, float]:
    """`(weights, bias, threshold)` of the model in `source`.

    Args:
        source: the .npz file.
        what: the model's name in the error ("the injection model").
        trainer: the module that rebuilds it (`aios.security.detectors.train_injection`).

    Raises:
        ConfigError: the file is missing or was not written by `trainer`.
    """
    try:
        with np.load(source) as data:
            return (np.asarray(data["weights"], dtype=np.float64), float(data["bias"]),
                    float(data["threshold"]))
    except (OSError, KeyError, ValueError) as exc:
        raise ConfigError(f"cannot load {what} {source}: {exc}; rebuild it with "
                          f"`python -m {trainer}`") from exc
