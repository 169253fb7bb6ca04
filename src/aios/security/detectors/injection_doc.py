"""Indirect prompt injection in documents and tool output, scored segment by segment.

An instruction planted in an email, a table or a code file is a sentence, a table cell or a
comment among many ordinary ones; classifying the whole text averages it away, and a
classifier trained on user prompts calls half of all business emails injections (they say
"please reply", "ignore this email"). So documents are cut the way attacks hide in them
(`segments`: lines, table cells, sentences, code comments) and each segment is scored by a
model trained on document segments (`DocumentInjectionModel`: logistic regression over
WordLlama embeddings, hashed character n-grams and how far the segment stands from the rest of
its document, weights in `injection_doc_model.npz`,
trained by `python -m aios.security.detectors.train_injection_doc`). The document's score
is its highest segment score.

This model is for text an agent *reads* (tool output, documents); the caller's own prompts
go to the prompt classifier (`injection.py`): a question such as "Explain the theory of
relativity." is an ordinary prompt, but planted in a table it is a task hijack.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self

import numpy as np
import numpy.typing as npt

from aios.errors import ConfigError
from aios.security.detectors.embedding import EmbedFn
from aios.security.detectors.injection_rules import strip_invisible
from aios.security.detectors.linear import LinearModel, load_extra

__all__ = ["DOC_KINDS", "DOC_MODEL_FILE", "DocumentInjectionModel", "document_kind",
           "segment_texts", "segments"]

DOC_MODEL_FILE = "injection_doc_model.npz"
#: The kinds of document with their own threshold (`document_kind`).
DOC_KINDS = ("text", "code")
#: Hashed character n-gram buckets (smaller than the prompt model's: segments are short).
DOC_NGRAM_DIM = 2048
_NGRAM_SIZES = (3, 4, 5)
#: Fewest words a segment needs to be scored (cells such as "Republican" carry no intent).
MIN_WORDS = 3
#: Longest segment scored, in characters (longer ones are cut into pieces this long).
MAX_CHARS = 400

#: A sentence: up to punctuation followed by a space or the end ("$2,099.00" stays whole).
_SENTENCE = re.compile(r"(?:[^.!?]|[.!?]+(?!\s|$))+(?:[.!?]+|$)")
_COMMENT = re.compile(r"(?:^|\s)(?:#|//|/\*|<!--|--|\*)\s+(.+?)\s*(?:\*/|-->)?\s*$")


def _split_line(line: str, offset: int) -> list[tuple[int, int]]:
    """Sentence spans of one line (or cell), long ones cut to MAX_CHARS."""
    out: list[tuple[int, int]] = []
    for match in _SENTENCE.finditer(line):
        a, b = match.span()
        while a < b and line[a].isspace():
            a += 1
        while b > a and line[b - 1].isspace():
            b -= 1
        while b - a > MAX_CHARS:
            out.append((offset + a, offset + a + MAX_CHARS))
            a += MAX_CHARS
        if b > a:
            out.append((offset + a, offset + b))
    return out


_PROSE_TOKEN = re.compile(r"^[(\"'`]?[A-Za-z][a-z'-]*[)\"'`]?[.,:;!?]?$")


def _is_code(line: str) -> bool:
    """A line of code rather than prose: under 60% of its tokens are plain words.

    `x = np.vstack(train)` and `print("Line{}: {}".format(count))` are code; "Merge the code
    below into your solution:" is prose, whatever fence it sits in (a planted instruction
    often breaks the document's fences).
    """
    tokens = line.split()
    if len(tokens) < MIN_WORDS:
        return False
    words = sum(1 for t in tokens if _PROSE_TOKEN.match(t))
    return words / len(tokens) < 0.6


_FENCE = re.compile(r"^\s*(?:```|~~~)", re.MULTILINE)


def document_kind(text: str) -> str:
    """`code` for a code document (a fenced block, or 3+ lines and a fifth of its lines code),
    else `text`.

    Code answers have their own decision threshold: their prose ("The solution is to unpack
    your list:") is worded like a planted "Merge the code below into your solution:".
    """
    if _FENCE.search(text):
        return "code"
    lines = [ln.strip() for ln in text.split("\n") if ln.strip() and ln.count("|") < 2]
    code = sum(1 for ln in lines if _is_code(ln))
    return "code" if code >= 3 and code / len(lines) >= 0.2 else "text"


def segments(text: str) -> list[tuple[int, int]]:
    """Spans of `text` to score: each line, its table cells, its sentences, its comment.

    A line of code (`_is_code`) contributes only its comment: code itself is not an
    instruction to the reader, and in a code answer it would be most of the document, so every
    line of prose would stand out against it.

    A span appears once even when it is several of these (a one-sentence line); segments
    with fewer than `MIN_WORDS` words are left out.
    """
    spans: set[tuple[int, int]] = set()
    pos = 0
    for line in text.split("\n"):
        start, stripped = pos, line.strip()
        pos += len(line) + 1
        if not stripped:
            continue
        lead = len(line) - len(line.lstrip())
        spans.add((start + lead, start + lead + min(len(stripped), MAX_CHARS)))
        if stripped.count("|") >= 2:  # a table row: each cell on its own
            cell_start = 0
            for cell in line.split("|"):
                spans.update(_split_line(cell, start + cell_start))
                cell_start += len(cell) + 1
            continue
        comment = _COMMENT.search(line)
        if not _is_code(line[:comment.start()] if comment else stripped):
            spans.update(_split_line(line, start))
        else:  # a code line: only its comment is text
            spans.discard((start + lead, start + lead + min(len(stripped), MAX_CHARS)))
        if comment:
            spans.add((start + comment.start(1), start + comment.end(1)))
    return sorted(s for s in spans if len(text[s[0]:s[1]].split()) >= MIN_WORDS)


def segment_texts(text: str) -> list[str]:
    """The texts of `segments(text)`."""
    return [text[a:b] for a, b in segments(text)]


def doc_ngrams(texts: Sequence[str]) -> npt.NDArray[np.float64]:
    """Hashed character 3- to 5-grams per text, L2-normalised (Python's `hash` is salted,
    so a stable hash: a polynomial over the bytes, vectorised with numpy)."""
    out = np.zeros((len(texts), DOC_NGRAM_DIM), dtype=np.float64)
    for row, text in enumerate(texts):
        padded = (" " + re.sub(r"\s+", " ", strip_invisible(text).lower()) + " ").encode()
        codes = np.frombuffer(padded, dtype=np.uint8).astype(np.uint64)
        for size in _NGRAM_SIZES:
            if len(codes) < size:
                continue
            h = np.zeros(len(codes) - size + 1, dtype=np.uint64)
            for i in range(size):
                h = h * np.uint64(1_000_003) + codes[i:len(codes) - size + 1 + i] + np.uint64(size)
            out[row] += np.bincount((h % np.uint64(DOC_NGRAM_DIM)).astype(np.int64),
                                    minlength=DOC_NGRAM_DIM)
        norm = float(np.linalg.norm(out[row]))
        if norm:
            out[row] /= norm
    return out


@dataclass(frozen=True)
class DocumentInjectionModel(LinearModel):
    """Logistic regression over one segment's [embedding, n-grams, contrast to its document].

    `threshold` is the segment probability at or above which a document is flagged;
    `code_threshold` the one for code documents (`document_kind`), when the model has one.
    """

    code_threshold: float | None = None

    @classmethod
    def load(cls, path: Path | str | None = None) -> Self:
        """The packaged model, or the .npz at `path`, with its code-document threshold."""
        model = super().load(path)
        code = load_extra(cls.source(path), "code_threshold")
        return dataclasses.replace(model, code_threshold=code) if code is not None else model

    def threshold_for(self, text: str) -> float:
        """The decision threshold for the document `text`."""
        if self.code_threshold is not None and document_kind(text) == "code":
            return self.code_threshold
        return self.threshold

    model_file: ClassVar[str] = DOC_MODEL_FILE
    what: ClassVar[str] = "the document injection model"
    trainer: ClassVar[str] = "aios.security.detectors.train_injection_doc"

    @staticmethod
    def features(texts: Sequence[str], embed: EmbedFn) -> npt.NDArray[np.float64]:
        """The feature matrix of the segment `texts` of ONE document.

        Per segment: its embedding, its character n-grams, and how it stands out from the
        document: the embedding minus the document's mean segment embedding, their cosine,
        and the log of the number of segments. A planted task ("Explain the theory of
        relativity.") is off-topic for the table or email it sits in; that contrast is what
        separates it from the document's own requests ("please reply to this email").
        """
        if not texts:
            return np.zeros((0, 0))
        vectors = np.asarray(embed([strip_invisible(t) for t in texts]), dtype=np.float64)
        centre = vectors.mean(axis=0)
        unit = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9)
        cosine = unit @ (centre / (float(np.linalg.norm(centre)) + 1e-9))
        count = np.full((len(texts), 1), np.log(len(texts)))
        return np.hstack([vectors, doc_ngrams(texts), vectors - centre, cosine[:, None], count])

    def probabilities(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """P(planted instruction) per segment row."""
        if len(features) == 0:
            return np.zeros(0)
        if features.shape[1] != self.weights.shape[0]:
            raise ConfigError(
                f"the document injection model expects {self.weights.shape[0]} features, "
                f"got {features.shape[1]}; retrain it with "
                "`python -m aios.security.detectors.train_injection_doc`")
        z = features @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))

    def best_segment(self, text: str, embed: EmbedFn) -> tuple[int, int, float] | None:
        """(start, end, probability) of the highest-scored segment, or None if none."""
        spans = segments(text)
        if not spans:
            return None
        probs = self.probabilities(self.features([text[a:b] for a, b in spans], embed))
        best = int(np.argmax(probs))
        return spans[best][0], spans[best][1], float(probs[best])
