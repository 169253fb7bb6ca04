"""The weights of the injection detectors' logistic models, read from their .npz files."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Self, TextIO

import numpy as np
import numpy.typing as npt

from aios.errors import ConfigError

__all__ = ["LinearModel", "load_extra", "load_linear", "save_linear"]


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



def save_linear(out: Path | str, weights: npt.NDArray[np.float64], bias: float,
                threshold: float, features: Sequence[str], report: Mapping[str, Any],
                stream: TextIO, extra: Mapping[str, float] | None = None) -> None:
    """Write a trained model to `out` (as `load_linear` reads it) and its report to `stream`.

    Args:
        features: the names of the feature blocks, in order (kept in the file).
        report: the training figures, written as JSON followed by the file written.
        extra: further named numbers a model class reads (`load_extra`).
    """
    arrays: dict[str, Any] = {"weights": weights, "bias": np.float64(bias),
                              "threshold": np.float64(threshold),
                              "features": np.asarray(list(features))}
    arrays.update({k: np.float64(v) for k, v in (extra or {}).items()})
    np.savez(out, **arrays)
    json.dump(report, stream, indent=2)
    stream.write(f"\nwrote {out}\n")


def load_extra(source: Path, name: str) -> float | None:
    """The extra number `name` saved with the model in `source`, or None if it has none."""
    with np.load(source) as data:
        return float(data[name]) if name in data.files else None

@dataclass(frozen=True)
class LinearModel:
    """A logistic model's weights, loaded from the package's .npz or a given file.

    Attributes:
        weights: one weight per feature.
        bias: the intercept.
        threshold: the probability at or above which a text is flagged.
        model_file: the packaged file's name (in `aios.security.detectors`).
        what: the model's name in errors.
        trainer: the module that rebuilds the file.
    """

    weights: npt.NDArray[np.float64]
    bias: float
    threshold: float

    model_file: ClassVar[str] = ""
    what: ClassVar[str] = "the model"
    trainer: ClassVar[str] = ""

    @classmethod
    def load(cls, path: Path | str | None = None) -> Self:
        """The packaged model, or the .npz at `path`.

        Raises:
            ConfigError: the file is missing or not a model written by `trainer`.
        """
        source = cls.source(path)
        return cls(*load_linear(source, cls.what, cls.trainer))

    @classmethod
    def source(cls, path: Path | str | None = None) -> Path:
        """`path`, or the packaged model file."""
        return Path(path) if path is not None else Path(
            str(resources.files("aios.security.detectors") / cls.model_file))
