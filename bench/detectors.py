"""Detector benchmark on the shared development data sets, next to a keyword/regex baseline.

    .venv/bin/python bench/detectors.py [--data ../shared/datasets]

Injection figures for the classifier are 5-fold cross-validated (each row scored by a model
trained on the other folds, as `train_injection` does), never scored by the shipped model,
which was trained on these rows. PII is scored on the types the detector covers, per span
(partial match both ways, see `score_pii`) and per word token. Secrets are scored per text
(the data set has one label per snippet). Throughput is single-threaded, on one core.

The last lines compare the figures with the targets of the security issue:
injection F1 >= 0.90 at FPR <= 3 %; PII span F1 >= 0.85 on the covered types; secrets recall
>= 0.95 at precision >= 0.90; the regex detectors (PII, secrets) >= 1,000 texts/s.
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


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def bench_injection(path: Path) -> dict[str, float]:
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
    detector = T._metrics(y, (probs >= thr) | heur)
    print("injection  detector (CV clf OR heuristics>=0.7)", detector)
    return detector


def _tokens(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"\w+", text)]


def _type_at(spans: list[tuple[int, int, str]], a: int, b: int,
             prefer: str | None = None) -> str | None:
    """The type of the span over token a:b (`prefer` when several overlap and one has it)."""
    kinds = [k for s, e, k in spans if s < b and a < e]
    return prefer if prefer in kinds else (kinds[0] if kinds else None)


def score_pii(data: list[dict], predict) -> tuple[dict[str, Counter[str]], float]:
    """Per type: span-overlap counts and token counts; and texts per second.

    Span level (partial match, both ways): a predicted span is correct when it overlaps a
    gold span of its type; a gold span is found when a predicted span of its type overlaps
    it. So a prediction that covers a gold address split in three pieces finds all three,
    and one that covers two gold names is one correct prediction. Token level: each word
    token carries the type of the gold span (or prediction) it lies in.
    """
    counts: dict[str, Counter[str]] = {k: Counter() for k in PII_TYPES}
    start = time.perf_counter()
    preds = [predict(r["text"]) for r in data]
    rate = len(data) / (time.perf_counter() - start)
    for r, pred in zip(data, preds, strict=True):
        gold = [(s["start"], s["end"], s["type"]) for s in r["spans"]]
        for a, b, k in pred:
            hit = any(g[2] == k and g[0] < b and a < g[1] for g in gold)
            counts[k]["span_tp_pred" if hit else "span_fp"] += 1
        for a, b, k in gold:
            if k in counts:
                found = any(p[2] == k and p[0] < b and a < p[1] for p in pred)
                counts[k]["span_tp_gold" if found else "span_fn"] += 1
        for a, b in _tokens(r["text"]):
            g = _type_at(gold, a, b)
            p = _type_at(pred, a, b, prefer=g)
            if g == p and g in counts:
                counts[g]["tok_tp"] += 1
                continue
            if p in counts:
                counts[p]["tok_fp"] += 1
            if g in counts:
                counts[g]["tok_fn"] += 1
    return counts, rate


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def span_prf(c: Counter[str]) -> tuple[float, float, float]:
    """Span-level precision, recall and F1 from `score_pii` counts."""
    sp = c["span_tp_pred"] / (c["span_tp_pred"] + c["span_fp"]) if c["span_tp_pred"] + \
        c["span_fp"] else 0.0
    sr = c["span_tp_gold"] / (c["span_tp_gold"] + c["span_fn"]) if c["span_tp_gold"] + \
        c["span_fn"] else 0.0
    return sp, sr, _f1(sp, sr)


def pii_line(name: str, c: Counter[str]) -> str:
    sp, sr, _ = span_prf(c)
    tp, fp, fn = c["tok_tp"], c["tok_fp"], c["tok_fn"]
    tpp = tp / (tp + fp) if tp + fp else 0.0
    tr = tp / (tp + fn) if tp + fn else 0.0
    gold = c["span_tp_gold"] + c["span_fn"]
    return (f"   {name:15s} span P={sp:.3f} R={sr:.3f} F1={_f1(sp, sr):.3f}   token "
            f"P={tpp:.3f} R={tr:.3f} F1={_f1(tpp, tr):.3f}   (gold spans {gold})")


def bench_pii(path: Path) -> dict[str, float]:
    data = rows(path)
    det = get_detector("pii")
    strict = get_detector("pii", min_score=0.7)
    baseline = {"EMAIL_ADDRESS": re.compile(r"\S+@\S+\.\w+"),
                "PHONE_NUMBER": re.compile(r"\+?\d[\d\s().-]{7,}\d"),
                "US_SSN": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
                "CREDIT_CARD": re.compile(r"\b\d{13,19}\b"),
                "IBAN_CODE": re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{10,30}\b"),
                "IP_ADDRESS": re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")}
    pattern_types = [k for k in PII_TYPES if k not in ("PERSON", "STREET_ADDRESS")]
    out: dict[str, float] = {}
    for name, fn in (("regex baseline", lambda t: [(m.start(), m.end(), k) for k, rx in
                                                   baseline.items() for m in rx.finditer(t)]),
                     ("detector", lambda t: [(f.start, f.end, f.type) for f in det.detect(t)]),
                     ("detector min_score=0.7",
                      lambda t: [(f.start, f.end, f.type) for f in strict.detect(t)])):
        counts, rate = score_pii(data, fn)
        print(f"pii {name}: {rate:.0f} texts/s")
        for k in PII_TYPES:
            print(pii_line(k, counts[k]))
        for label, kinds in (("pattern types", pattern_types), ("all covered", PII_TYPES)):
            total: Counter[str] = Counter()
            for k in kinds:
                total.update(counts[k])
            print(pii_line(label, total))
            if name == "detector" and label == "all covered":
                out = {"f1": span_prf(total)[2], "rate": rate}
    return out


def bench_secrets(path: Path) -> dict[str, float]:
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
        per_text = T._metrics(yt, pt)
        print(f"secrets {name:17s} texts", per_text)
    return {**per_text, "rate": rate}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets"))
    args = parser.parse_args()
    inj = bench_injection(args.data / "injection/deepset_train.jsonl")
    pii = bench_pii(args.data / "pii/presidio_synth_v2.jsonl")
    sec = bench_secrets(args.data / "secrets/noseyparker_examples.jsonl")
    checks = [
        ("injection F1 >= 0.90 at FPR <= 3%", inj["f1"] >= 0.90 and inj["fpr"] <= 0.03,
         f"F1 {inj['f1']:.3f}, FPR {inj['fpr']:.3f}"),
        ("PII span F1 >= 0.85 (covered types)", pii["f1"] >= 0.85, f"F1 {pii['f1']:.3f}"),
        ("secrets recall >= 0.95 at precision >= 0.90",
         sec["recall"] >= 0.95 and sec["precision"] >= 0.90,
         f"recall {sec['recall']:.3f}, precision {sec['precision']:.3f} (per text)"),
        ("regex detectors >= 1000 texts/s", min(pii["rate"], sec["rate"]) >= 1000,
         f"PII {pii['rate']:.0f}/s, secrets {sec['rate']:.0f}/s"),
    ]
    for label, ok, figures in checks:
        print(f"target {'met    ' if ok else 'MISSED '} {label}: {figures}")


if __name__ == "__main__":
    main()
