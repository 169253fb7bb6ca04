"""Sentence embeddings for the detectors, from WordLlama's packaged weights, offline.

`wordllama` ships its 256-dimension weights and tokenizer inside the wheel; its own `load()`
still tries to download the tokenizer from a hub, so the files are opened directly here and
nothing touches the network. Ai:oS's shared embedding service (`aios.embeddings`) can be
passed to the injection detector instead; this module exists so the detectors work without it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aios.errors import ConfigError

__all__ = ["EmbedFn", "WordLlamaEmbedder"]

#: Texts in, one L2-normalised row per text out.
EmbedFn = Callable[[Sequence[str]], npt.NDArray[np.float32]]

_WEIGHTS = "weights/l2_supercat_256.safetensors"
_TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"


class WordLlamaEmbedder:
    """WordLlama `l2_supercat` (256 dimensions), loaded on first use from the installed wheel.

    Raises:
        ConfigError: on first use, when `wordllama` is not installed.
    """

    dim = 256

    def __init__(self) -> None:
        self._model: Any = None

    def _load(self) -> Any:
        spec = importlib.util.find_spec("wordllama")
        if spec is None or spec.origin is None:
            raise ConfigError("the injection classifier needs WordLlama embeddings: "
                              "pip install 'aios[security]' (or pip install wordllama)")
        from safetensors import safe_open
        from tokenizers import Tokenizer
        from wordllama.inference import WordLlamaInference

        root = Path(spec.origin).parent
        with safe_open(str(root / _WEIGHTS), framework="np") as handle:
            weights = handle.get_tensor("embedding.weight")
        tokenizer = Tokenizer.from_file(str(root / _TOKENIZER))
        return WordLlamaInference(weights, tokenizer, binary=False)

    def __call__(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed `texts` (L2-normalised rows)."""
        if self._model is None:
            self._model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.asarray(self._model.embed(list(texts), norm=True), dtype=np.float32)
        return vectors
