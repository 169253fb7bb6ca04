"""Train the document (segment) injection model and write `injection_doc_model.npz`.

    python -m aios.security.detectors.train_injection_doc \
        --bipia ../shared/datasets/injection/bipia_train.jsonl \
        --prompts ../shared/datasets/injection/deepset_train.jsonl [--folds 5]

Training rows are segments in their document (`injection_doc.segments`, features relative to
the document): negatives are the segments of the clean documents; positives are the segments of
the planted instructions (recovered by comparing each injected variant with its clean
document), plus the injections of the prompt set and the hand-written `EXTRA_INJECTIONS`, each
planted as a line of a random clean document. The benign prompts are NOT negatives: a question
that is an ordinary prompt is a task hijack when it is planted in a document.

Cross-validation is grouped twice: clean documents are split into folds by document (so no
segment of a scored document, and none of its variants, was seen in training), and planted
instructions by their text (an attack string is scored only by models that never saw it; the
125 strings are drawn at random into the 3,000 variants, so splitting by row would score most
attacks with a model trained on them). A clean document of fold k and an injected variant
whose instruction is in fold k are scored by the model trained without fold k. The threshold
is the lowest whose out-of-fold false-positive rate on the clean documents is at most
`--max-fpr`, chosen separately for code documents and other text (`document_kind`): prose in
a code answer reads like a planted "merge this code into your solution", so code documents
need a higher bar (50 of them in BIPIA: the code figure rests on few documents).
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aios.security.detectors.embedding import WordLlamaEmbedder
from aios.security.detectors.injection_doc import (
    DOC_KINDS,
    DOC_MODEL_FILE,
    DocumentInjectionModel,
    document_kind,
    segment_texts,
)
from aios.security.detectors.linear import save_linear
from aios.security.detectors.train_injection import EXTRA_INJECTIONS, fit_logistic

__all__ = ["Corpus", "choose_doc_threshold", "cross_validate_docs", "doc_thresholds",
           "load_corpus", "main"]

Array = npt.NDArray[np.float64]


@dataclass
class Corpus:
    """Documents and their planted instructions, as the training needs them.

    Attributes:
        docs: every document row (`id`, `text`, `label`, `task`, `position`).
        base: the clean document id of each row.
        attack: the planted instruction of each injected row ('' for clean rows).
        prompts_pos: injection prompts used as extra positives (never scored here).
    """

    docs: list[dict[str, Any]]
    base: list[str]
    attack: list[str]
    prompts_pos: list[str]


def _planted(clean: str, injected: str) -> str:
    """The text inserted into `clean` to make `injected`."""
    i = 0
    while i < min(len(clean), len(injected)) and clean[i] == injected[i]:
        i += 1
    j = 0
    while j < min(len(clean), len(injected)) - i and clean[-1 - j] == injected[-1 - j]:
        j += 1
    return injected[i:len(injected) - j].strip()


def load_corpus(bipia: Path, prompts: Path | None) -> Corpus:
    """The documents of `bipia` and the injections of `prompts` (JSON Lines)."""
    docs = [json.loads(line) for line in bipia.open(encoding="utf-8") if line.strip()]
    base = [str(r["id"]).rsplit("-", 1)[0] for r in docs]
    clean = {b: r["text"] for b, r in zip(base, docs, strict=True) if r["label"] == 0}
    attack = [_planted(clean[b], r["text"]) if r["label"] == 1 else ""
              for b, r in zip(base, docs, strict=True)]
    extra: list[str] = list(EXTRA_INJECTIONS)
    if prompts is not None:
        extra += [json.loads(line)["text"] for line in prompts.open(encoding="utf-8")
                  if line.strip() and json.loads(line)["label"] == 1]
    return Corpus(docs, base, attack, extra)


def _fold(key: str, k: int) -> int:
    return zlib.crc32(key.encode()) % k


@dataclass
class _Doc:
    """One document's segments, features and segment labels (1: part of a planted text)."""

    segments: list[str]
    x: Array
    labels: npt.NDArray[np.int64]


def _doc(text: str, planted: str, embed: WordLlamaEmbedder) -> _Doc:
    segs = segment_texts(text)
    first = planted.split("\n", 1)[0].strip()
    labels = np.asarray([1 if planted and len(s) > 10 and (first in s or s in first) else 0
                         for s in segs], dtype=np.int64)
    x = DocumentInjectionModel.features(segs, embed) if segs else np.zeros((0, 0))
    return _Doc(segs, x, labels)


def _augmented(corpus: Corpus, embed: WordLlamaEmbedder,
               seed: int = 0) -> list[tuple[int, _Doc]]:
    """Each prompt injection planted as a line of a random clean document: (document, doc)."""
    rng = np.random.default_rng(seed)
    clean = [i for i, r in enumerate(corpus.docs) if r["label"] == 0]
    out: list[tuple[int, _Doc]] = []
    for prompt in corpus.prompts_pos:
        i = int(rng.choice(clean))
        lines = corpus.docs[i]["text"].split("\n")
        at = int(rng.integers(0, len(lines) + 1))
        line = " ".join(prompt.split())
        out.append((i, _doc("\n".join([*lines[:at], line, *lines[at:]]), line, embed)))
    return out


def cross_validate_docs(corpus: Corpus, k: int, l2: float,
                        embed: WordLlamaEmbedder) -> tuple[Array, Array]:
    """Out-of-fold document scores (max segment score), and the model fitted on everything.

    Training rows of fold k: every segment of the clean documents outside fold k, and the
    planted segments of their injected variants whose instruction is outside fold k (and of
    the prompt injections planted into clean documents outside fold k).

    Returns:
        (scores per document row, [weights..., bias] of the model trained on everything).
    """
    docs = [_doc(r["text"], corpus.attack[i], embed) for i, r in enumerate(corpus.docs)]
    extra = _augmented(corpus, embed)

    def train(fold: int | None) -> tuple[Array, float]:
        xs: list[Array] = []
        ys: list[npt.NDArray[np.int64]] = []
        for i, r in enumerate(corpus.docs):
            d = docs[i]
            if not d.segments or (fold is not None and _fold(corpus.base[i], k) == fold):
                continue
            if r["label"] == 0:
                xs.append(d.x)
                ys.append(d.labels)
            elif fold is None or _fold(corpus.attack[i], k) != fold:
                xs.append(d.x[d.labels == 1])
                ys.append(d.labels[d.labels == 1])
        for i, d in extra:
            if d.segments and (fold is None or _fold(corpus.base[i], k) != fold):
                xs.append(d.x[d.labels == 1])
                ys.append(d.labels[d.labels == 1])
        return fit_logistic(np.vstack(xs), np.concatenate(ys), l2)

    scores = np.zeros(len(corpus.docs))
    for fold in range(k):
        w, b = train(fold)
        for i, r in enumerate(corpus.docs):
            key = corpus.attack[i] if r["label"] == 1 else corpus.base[i]
            if _fold(key, k) != fold or not docs[i].segments:
                continue
            z = docs[i].x @ w + b
            scores[i] = float(np.max(1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))))
    w, b = train(None)
    return scores, np.concatenate([w, [b]])


def choose_doc_threshold(corpus: Corpus, scores: Array, max_fpr: float,
                         kind: str | None = None) -> float:
    """The lowest threshold whose out-of-fold FPR on the clean documents (of `kind`, as
    `document_kind` tells it; default all) is <= max_fpr."""
    clean = np.asarray([float(s) for s, r in zip(scores, corpus.docs, strict=True)
                        if r["label"] == 0 and (kind is None or document_kind(r["text"]) == kind)])
    for t in np.round(np.arange(0.05, 1.0, 0.005), 3):
        if not len(clean) or float((clean >= t).mean()) <= max_fpr:
            return float(t)
    return 0.995


def doc_thresholds(corpus: Corpus, scores: Array, max_fpr: float) -> Array:
    """Per document row, the threshold of its kind (chosen by `choose_doc_threshold`)."""
    by_kind = {k: choose_doc_threshold(corpus, scores, max_fpr, k) for k in DOC_KINDS}
    return np.asarray([by_kind[document_kind(r["text"])] for r in corpus.docs])


def family_report(corpus: Corpus, scores: Array, threshold: float) -> dict[str, Any]:
    """Flag rates per family: clean documents per kind, injected ones per kind and position."""
    out: dict[str, Any] = {}
    groups: dict[str, list[bool]] = {}
    for i, r in enumerate(corpus.docs):
        hit = bool(scores[i] >= threshold)
        if r["label"] == 0:
            groups.setdefault(f"benign {r['task']} (FPR)", []).append(hit)
            groups.setdefault("benign documents (FPR)", []).append(hit)
        else:
            groups.setdefault(f"indirect {r['task']} {r['position']} (recall)", []).append(hit)
            groups.setdefault(f"indirect {r['position']} (recall)", []).append(hit)
            groups.setdefault("indirect all (recall)", []).append(hit)
    for name in sorted(groups):
        hits = groups[name]
        out[name] = {"rate": round(sum(hits) / len(hits), 4), "n": len(hits)}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bipia", type=Path, required=True)
    parser.add_argument("--prompts", type=Path, default=None,
                        help="JSON Lines prompt set whose injections are extra positives")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--l2", type=float, default=0.1)
    parser.add_argument("--max-fpr", type=float, default=0.02)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).with_name(DOC_MODEL_FILE))
    args = parser.parse_args(argv)
    corpus = load_corpus(args.bipia, args.prompts)
    scores, full = cross_validate_docs(corpus, args.folds, args.l2, WordLlamaEmbedder())
    threshold = choose_doc_threshold(corpus, scores, args.max_fpr, "text")
    code_threshold = choose_doc_threshold(corpus, scores, args.max_fpr, "code")
    clean_max = max(float(s) for s, r in zip(scores, corpus.docs, strict=True)
                    if r["label"] == 0)
    flags = scores >= doc_thresholds(corpus, scores, args.max_fpr)
    report = {"documents": len(corpus.docs), "folds": args.folds,
              "threshold": threshold, "code_threshold": code_threshold,
              "highest clean-document score (OOF)": round(clean_max, 4),
              "families": family_report(corpus, flags.astype(np.float64), 0.5)}
    save_linear(args.out, full[:-1], float(full[-1]), threshold,
                ["wordllama_l2_supercat_256", "doc_ngrams_3_5_2048", "contrast_to_document_258"],
                report, sys.stdout, extra={"code_threshold": code_threshold})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
