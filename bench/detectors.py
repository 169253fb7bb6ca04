"""Detector benchmark on the shared development data sets, next to a keyword/regex baseline.

    .venv/bin/python bench/detectors.py [--data ../shared/datasets]

Injection figures for the classifier are 5-fold cross-validated (each row scored by a model
trained on the other folds, as `train_injection` does), never scored by the shipped model,
which was trained on these rows. PII is scored per span (a predicted span counts when it
overlaps a gold span of the same type), on the types the detector covers. Secrets are scored
per text (the data set has one label per snippet).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np

from aios.security.detectors import PII_TYPES, get_detector
from aios.security.detectors import train_injection as T
from aios.security.detectors.embedding import WordLlamaEmbedder
from aios.security.detectors.injection import InjectionClassifier, scan_heuristics


def prf(tp: int, fp: int, fn: int) -> str:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return f"P={p:.3f} R={r:.3f} F1={f:.3f}"


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def bench_injection(path: Path) -> None:
    texts, y = T._load(path)
    keyword = re.compile(r"(?i)ignore|forget|disregard|vergiss|ignoriere|system prompt|"
                         r"jailbreak|\bDAN\b|pretend")
    base = np.array([bool(keyword.search(t)) for t in texts])
    print("injection  keyword baseline      ", T._metrics(y, base))
    start = time.perf_counter()
    heur = np.array([any(f.score >= 0.7 for f in scan_heuristics(t)) for t in texts])
    rate = len(texts) / (time.perf_counter() - start)
    print("injection  heuristics only       ", T._metrics(y, heur), f"{rate:.0f} texts/s")
    shaper = InjectionClassifier(np.zeros(0), 0.0, 0.5)
    embed = WordLlamaEmbedder()
    start = time.perf_counter()
    x = shaper.features(texts, embed)
    rate = len(texts) / (time.perf_counter() - start)
    extra = [*T.EXTRA_INJECTIONS, *T.EXTRA_BENIGN]
    ex = shaper.features(extra, embed)
    ey = np.array([1] * len(T.EXTRA_INJECTIONS) + [0] * len(T.EXTRA_BENIGN))
    probs = T.cross_validate(x, y, ex, ey, 5, 1.0)
    thr = InjectionClassifier.load().threshold
    print("injection  classifier (5-fold CV)", T._metrics(y, probs >= thr),
          f"threshold={thr:.2f}, features {rate:.0f} texts/s")
    print("injection  detector (CV clf OR heuristics>=0.7)", T._metrics(y, (probs >= thr) | heur))


def bench_pii(path: Path) -> None:
    data = rows(path)
    det = get_detector("pii")
    baseline = {"EMAIL_ADDRESS": re.compile(r"\S+@\S+\.\w+"),
                "PHONE_NUMBER": re.compile(r"\+?\d[\d\s().-]{7,}\d"),
                "US_SSN": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
                "CREDIT_CARD": re.compile(r"\b\d{13,19}\b"),
                "IBAN_CODE": re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{10,30}\b"),
                "IP_ADDRESS": re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")}
    for name, fn in (("regex baseline", lambda t: [(m.start(), m.end(), k) for k, rx in
                                                   baseline.items() for m in rx.finditer(t)]),
                     ("detector", lambda t: [(f.start, f.end, f.type) for f in det.detect(t)])):
        tp: Counter[str] = Counter()
        fp: Counter[str] = Counter()
        fn_: Counter[str] = Counter()
        start = time.perf_counter()
        preds = [fn(r["text"]) for r in data]
        rate = len(data) / (time.perf_counter() - start)
        for r, pred in zip(data, preds, strict=True):
            gold = [(s["start"], s["end"], s["type"]) for s in r["spans"] if s["type"] in PII_TYPES]
            used: set[int] = set()
            for a, b, k in pred:
                hit = next((i for i, g in enumerate(gold) if i not in used and g[2] == k
                            and g[0] < b and a < g[1]), None)
                if hit is None:
                    fp[k] += 1
                else:
                    used.add(hit)
                    tp[k] += 1
            for i, g in enumerate(gold):
                if i not in used:
                    fn_[g[2]] += 1
        print(f"pii {name}: {rate:.0f} texts/s")
        for k in PII_TYPES:
            print(f"   {k:15s} {prf(tp[k], fp[k], fn_[k])}  (tp={tp[k]} fp={fp[k]} fn={fn_[k]})")
        strong = [k for k in PII_TYPES if k not in ("PERSON", "STREET_ADDRESS")]
        print(f"   {'pattern types':15s} {prf(sum(tp[k] for k in strong), sum(fp[k] for k in strong), sum(fn_[k] for k in strong))}")
        print(f"   {'all covered':15s} {prf(sum(tp.values()), sum(fp.values()), sum(fn_.values()))}")


def bench_secrets(path: Path) -> None:
    data = rows(path)
    det = get_detector("secrets")
    keyword = re.compile(r"(?i)(?:key|token|secret|password|passwd|pwd)\s*[:=]\s*\S{8,}|"
                         r"AKIA[0-9A-Z]{16}|gh[pousr]_\w{36}|xox[bpoa]-|BEGIN [A-Z ]*PRIVATE KEY")
    labels: dict[str, int] = {}
    for r in data:
        labels[r["text"]] = max(labels.get(r["text"], 0), r["label"])
    for name, fn in (("keyword baseline", lambda t: bool(keyword.search(t))),
                     ("detector", lambda t: bool(det.detect(t)))):
        start = time.perf_counter()
        pred = [fn(r["text"]) for r in data]
        rate = len(data) / (time.perf_counter() - start)
        y = np.array([r["label"] for r in data])
        print(f"secrets {name:17s} rows ", T._metrics(y, np.array(pred)), f"{rate:.0f} texts/s")
        texts = list(labels)
        yt = np.array([labels[t] for t in texts])
        pt = np.array([fn(t) for t in texts])
        print(f"secrets {name:17s} texts", T._metrics(yt, pt))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    args = parser.parse_args()
    bench_injection(args.data / "injection/deepset_train.jsonl")
    bench_pii(args.data / "pii/presidio_synth_v2.jsonl")
    bench_secrets(args.data / "secrets/noseyparker_examples.jsonl")


if __name__ == "__main__":
    main()
