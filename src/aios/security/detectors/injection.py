"""Prompt injection and jailbreak detection: phrase heuristics plus an embedding classifier.

`InjectionDetector.detect` returns

- one finding per heuristic match (`instruction_override`, `system_prompt_extraction`,
  `jailbreak`, `role_play`, `indirect_injection`, `exfiltration`), also on de-obfuscated
  variants of the text (leetspeak, split letters, base64), reported as `obfuscated_<type>`
  on the span of the obfuscated original;
- one `injection` finding from the classifier (a logistic regression over WordLlama sentence
  embeddings, the heuristic scores and hashed character n-grams, weights shipped in
  `injection_model.npz`, trained by `python -m aios.security.detectors.train_injection`)
  when its probability reaches the model's threshold. Long texts (documents, tool output)
  are also classified sentence window by sentence window, so one planted paragraph is not
  averaged away by the text around it.

`InjectionDetector.detect_document` is for text an agent reads (tool output, documents): the
heuristics (none fired on the 1,000 benign BIPIA documents), plus the segment model of
`injection_doc` (a `planted_instruction` finding on the segment), instead of the prompt
classifier, which flags ordinary emails.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from aios.errors import ConfigError
from aios.security.detectors.base import Finding, register_detector
from aios.security.detectors.embedding import EmbedFn, WordLlamaEmbedder
from aios.security.detectors.injection_aim import aim_features
from aios.security.detectors.injection_doc import DocumentInjectionModel
from aios.security.detectors.injection_rules import (
    PATTERNS,
    decoded_base64,
    leet_normalise,
    rejoin_split_letters,
    strip_invisible,
)
from aios.security.detectors.linear import LinearModel

__all__ = ["HEURISTIC_TYPES", "InjectionClassifier", "InjectionDetector", "char_ngrams",
           "heuristic_features", "scan_heuristics", "word_ngrams"]

#: Heuristic types, in the order the classifier's features use them.
HEURISTIC_TYPES: tuple[str, ...] = ("instruction_override", "system_prompt_extraction",
                                    "jailbreak", "role_play", "indirect_injection",
                                    "exfiltration", "obfuscation")

MODEL_FILE = "injection_model.npz"
#: Buckets of the hashed character n-gram features.
NGRAM_DIM = 4096
_NGRAM_SIZES = (3, 4, 5)
#: Buckets of the hashed word unigram and bigram features.
WORD_DIM = 2048
_WORD = re.compile(r"\w+")
_SPLIT_TRIGGERS = re.compile(r"(?i)ignore|disregard|forget|instruction|systemprompt|prompt|"
                             r"jailbreak|password|secret|reveal|bypass|override|hate|kill")
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")


def _heuristic_findings(text: str, name: str) -> list[Finding]:
    found: list[Finding] = []
    for rule in PATTERNS:
        for match in rule.pattern.finditer(text):
            found.append(Finding(match.start(), match.end(), rule.type, rule.score,
                                 match.group(0), name))
    return found


def scan_heuristics(text: str, name: str = "injection") -> list[Finding]:
    """Heuristic findings on `text` and on its de-obfuscated variants."""
    clean = strip_invisible(text)
    if len(clean) != len(text):  # hidden characters: scan the clean text, report whole spans
        hidden = _heuristic_findings(clean, name)
        found = [Finding(0, len(text), f"obfuscated_{f.type}", f.score, text, name)
                 for f in hidden]
        if found:
            return found
    found = _heuristic_findings(text, name)
    seen = {(f.start, f.end) for f in found}
    leet = leet_normalise(text)
    if leet != text:
        for f in _heuristic_findings(leet, name):
            if (f.start, f.end) not in seen and text[f.start:f.end].lower() != f.text.lower():
                found.append(Finding(f.start, f.end, f"obfuscated_{f.type}", f.score,
                                     text[f.start:f.end], name))
    for start, end, joined in rejoin_split_letters(text):
        if _SPLIT_TRIGGERS.search(joined):
            found.append(Finding(start, end, "obfuscated_split", 0.75, text[start:end], name))
    for start, end, decoded in decoded_base64(text):
        inner = scan_heuristics(decoded, name)
        if inner:
            best = max(f.score for f in inner)
            found.append(Finding(start, end, "obfuscated_base64", best, text[start:end], name))
    return sorted(found, key=lambda f: (f.start, f.end))


def heuristic_features(text: str) -> npt.NDArray[np.float32]:
    """The best heuristic score per type (`HEURISTIC_TYPES` order), for the classifier."""
    row = np.zeros(len(HEURISTIC_TYPES), dtype=np.float32)
    for finding in scan_heuristics(text):
        kind = "obfuscation" if finding.type.startswith("obfuscated_") else finding.type
        idx = HEURISTIC_TYPES.index(kind)
        row[idx] = max(row[idx], finding.score)
    return row


def char_ngrams(text: str) -> npt.NDArray[np.float64]:
    """Hashed character 3- to 5-grams of the lower-cased text, L2-normalised.

    They catch what a mean-pooled word embedding blurs: the exact override verbs and their
    leetspeak or German forms. CRC32 keeps the hashing stable across processes and versions.
    """
    row = np.zeros(NGRAM_DIM, dtype=np.float64)
    padded = " " + re.sub(r"\s+", " ", strip_invisible(text).lower()) + " "
    for size in _NGRAM_SIZES:
        for i in range(len(padded) - size + 1):
            row[zlib.crc32(padded[i:i + size].encode()) % NGRAM_DIM] += 1.0
    norm = float(np.linalg.norm(row))
    return row / norm if norm else row


def word_ngrams(text: str) -> npt.NDArray[np.float64]:
    """Hashed word unigrams and bigrams of the lower-cased text, L2-normalised.

    Word order the mean-pooled embedding loses: "act as a" + "and plan" against "act as an"
    + "without rules", "ignore the" + "header" against "ignore your" + "instructions".
    """
    row = np.zeros(WORD_DIM, dtype=np.float64)
    words = _WORD.findall(strip_invisible(text).lower())
    for gram in (*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))):
        row[zlib.crc32(gram.encode()) % WORD_DIM] += 1.0
    norm = float(np.linalg.norm(row))
    return row / norm if norm else row


@dataclass(frozen=True)
class InjectionClassifier(LinearModel):
    """Logistic regression over [embedding, heuristic scores, hashed character n-grams, aim
    features, hashed word n-grams].

    `threshold` is the probability at or above which a text is called an injection.
    """

    model_file: ClassVar[str] = MODEL_FILE
    what: ClassVar[str] = "the injection model"
    trainer: ClassVar[str] = "aios.security.detectors.train_injection"

    def features(self, texts: Sequence[str], embed: EmbedFn) -> npt.NDArray[np.float64]:
        """The feature matrix for `texts`."""
        vectors = np.asarray(embed([strip_invisible(t) for t in texts]), dtype=np.float64)
        heur = np.stack([heuristic_features(t) for t in texts]).astype(np.float64)
        grams = np.stack([char_ngrams(t) for t in texts])
        aim = np.stack([aim_features(t) for t in texts]).astype(np.float64)
        words = np.stack([word_ngrams(t) for t in texts])
        return np.hstack([vectors, heur, grams, aim, words])

    def probabilities(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """P(injection) per feature row."""
        if features.shape[1] != self.weights.shape[0]:
            raise ConfigError(f"the injection model expects {self.weights.shape[0]} features, "
                              f"got {features.shape[1]}: the embedding does not match the one "
                              "it was trained on; retrain with "
                              "`python -m aios.security.detectors.train_injection`")
        z = features @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def _windows(text: str, size: int = 3) -> list[tuple[int, int]]:
    """Spans of `size` consecutive sentences, for classifying long texts piece by piece."""
    sentences = [m.span() for m in _SENTENCE.finditer(text) if m.group(0).strip()]
    if len(sentences) <= size:
        return []
    return [(sentences[i][0], sentences[min(i + size, len(sentences)) - 1][1])
            for i in range(0, len(sentences) - size + 1)]


#: The heuristic bar in documents and tool output (see `bench/detectors.py`).
DOC_MIN_SCORE = 0.7
#: Fewest words the classifier looks at.
_MIN_WORDS = 3


@register_detector("injection")
class InjectionDetector:
    """Prompt injection and jailbreak detector.

    Args:
        classifier: use the embedding classifier (off: heuristics only, no embeddings needed).
        threshold: override the model's decision threshold.
        model_path: another .npz written by `train_injection`.
        embed: the embedding function (default: WordLlama from the installed wheel); it must
            be the one the model was trained with.
        min_score: report heuristic findings scored at least this (weaker ones, such as a
            bare "pretend you are", only feed the classifier).
        doc_model_path: another .npz written by `train_injection_doc`.
        doc_threshold: override the document model's segment thresholds (by default one
            for code documents, one for other text).
        doc_min_score: the heuristic bar in documents.
    """

    name = "injection"
    kind = "injection"
    #: The finding types of the classifiers (`Check.classifier_threshold` applies to them).
    classifier_types = ("injection", "planted_instruction")

    def __init__(self, classifier: bool = True, threshold: float | None = None,
                 model_path: str | None = None, embed: EmbedFn | None = None,
                 min_score: float = 0.7, doc_model_path: str | None = None,
                 doc_threshold: float | None = None, doc_min_score: float = DOC_MIN_SCORE):
        self.model = InjectionClassifier.load(model_path) if classifier else None
        self.threshold = threshold if threshold is not None else (
            self.model.threshold if self.model is not None else 0.5)
        self.embed: EmbedFn = embed or WordLlamaEmbedder()
        self.min_score = min_score
        self.doc_model = DocumentInjectionModel.load(doc_model_path) if classifier else None
        #: None: the model's own thresholds (one for code documents, one for other text).
        self.doc_threshold = doc_threshold
        self.doc_min_score = doc_min_score

    def detect(self, text: str) -> list[Finding]:
        """Heuristic spans plus, when the classifier fires, an `injection` span.

        The classifier reads texts of at least `_MIN_WORDS` words; the heuristics read all.
        """
        found = [f for f in scan_heuristics(text, self.name) if f.score >= self.min_score]
        # An instruction needs a few words; a lone token ("answer", a model name) gives the
        # classifier nothing to go on and only produces false positives.
        if self.model is not None and len(text.split()) >= _MIN_WORDS:
            spans = [(0, len(text)), *_windows(text)]
            probs = self.model.probabilities(
                self.model.features([text[a:b] for a, b in spans], self.embed))
            best = int(np.argmax(probs))
            if probs[best] >= self.threshold:
                start, end = spans[best]
                found.append(Finding(start, end, "injection", float(probs[best]),
                                     text[start:end], self.name))
        return sorted(found, key=lambda f: (f.start, f.end))

    def detect_document(self, text: str) -> list[Finding]:
        """Findings in text an agent reads: strong heuristics and the best planted segment."""
        found = [f for f in scan_heuristics(text, self.name) if f.score >= self.doc_min_score]
        if self.doc_model is not None:
            best = self.doc_model.best_segment(text, self.embed)
            bar = (self.doc_threshold if self.doc_threshold is not None
                   else self.doc_model.threshold_for(text))
            if best is not None and best[2] >= bar:
                start, end, prob = best
                found.append(Finding(start, end, "planted_instruction", prob,
                                     text[start:end], self.name))
        return sorted(found, key=lambda f: (f.start, f.end))

    def score(self, text: str) -> float:
        """The highest score of any finding (0 when none): one number per text."""
        return max((f.score for f in self.detect(text)), default=0.0)
