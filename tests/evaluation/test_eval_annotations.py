"""Human evaluation: Cohen's kappa against hand-computed values, the annotation queue in the
store, agreement between humans and with the automatic verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.evaluation.eval_helpers import say_rows, write_suite

from aios.errors import ConfigError, NotFoundError
from aios.evaluation import AnnotationQueue, Harness, cohen_kappa, load_suite
from aios.store import Store


def test_kappa_matches_a_hand_computed_table() -> None:
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15.
    # p_o = 35/50 = 0.7; p_e = (25*30 + 25*20)/2500 = 0.5; kappa = 0.4
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_kappa_extremes() -> None:
    assert cohen_kappa(["p", "f", "p", "f"], ["p", "f", "p", "f"]) == 1.0
    assert cohen_kappa(["p", "f", "p", "f"], ["f", "p", "f", "p"]) == pytest.approx(-1.0)
    # agreement exactly at chance level
    assert cohen_kappa(["p", "p", "f", "f"], ["p", "f", "p", "f"]) == pytest.approx(0.0)
    assert cohen_kappa(["p", "p"], ["p", "p"]) == 1.0
    with pytest.raises(ValueError):
        cohen_kappa(["p"], ["p", "f"])


async def test_queue_labels_relabels_and_measures_agreement(store: Store,
                                                            tmp_path: Path) -> None:
    path = write_suite(tmp_path, say_rows(4, fail_every=2), evaluators=["exact_match"])
    report = await Harness(store).run(load_suite(path))
    run_id = report.run.id
    # Automatic verdicts: s0 fail, s1 pass, s2 fail, s3 pass.
    queue = AnnotationQueue(store)
    assert len(await queue.pending(run_id, "ann")) == 4
    for sid, label in (("s0", "fail"), ("s1", "pass"), ("s2", "pass"), ("s3", "pass")):
        await queue.label(run_id[:10], sid, label, annotator="ann")
    await queue.label(run_id, "s2", "FAIL", annotator="ann", note="changed my mind")
    for sid, label in (("s0", "fail"), ("s1", "pass"), ("s2", "fail"), ("s3", "fail")):
        await queue.label(run_id, sid, label, annotator="bob")
    assert await queue.pending(run_id, "ann") == []
    labels = await queue.labels(run_id)
    assert len(labels) == 8 and {(a.sample_id, a.label) for a in labels
                                 if a.annotator == "ann"} == {
        ("s0", "fail"), ("s1", "pass"), ("s2", "fail"), ("s3", "pass")}
    agreement = {(a.rater_a, a.rater_b): a for a in
                 await queue.agreement(run_id, evaluators=["exact_match"])}
    assert agreement[("ann", "judge:overall")].kappa == 1.0
    assert agreement[("ann", "judge:exact_match")].items == 4
    ann_bob = agreement[("ann", "bob")]
    # ann: f p f p; bob: f p f f -> p_o 0.75, p_e (0.5*0.75 + 0.5*0.25) = 0.5, kappa 0.5
    assert ann_bob.observed == 0.75 and ann_bob.kappa == pytest.approx(0.5)


async def test_queue_rejects_unknown_items_and_empty_labels(store: Store,
                                                            tmp_path: Path) -> None:
    path = write_suite(tmp_path, say_rows(1), evaluators=["exact_match"])
    report = await Harness(store).run(load_suite(path))
    queue = AnnotationQueue(store)
    with pytest.raises(NotFoundError, match="no result for sample 'nope'"):
        await queue.label(report.run.id, "nope", "pass", annotator="ann")
    with pytest.raises(ConfigError, match="label"):
        await queue.label(report.run.id, "s0", " ", annotator="ann")
    with pytest.raises(NotFoundError, match="no evaluation run"):
        await queue.pending("missing-run", "ann")
