"""Evaluation: datasets, targets, evaluators (code, judge, human), the harness, A/B statistics,
reports, and datasets built from production traces.

```python
from aios.evaluation import Harness, load_suite

report = await Harness(store, gateway=gateway).run(load_suite("examples/eval/suite.yaml"))
print(report.summary.accuracy)
```
"""

from aios.evaluation.annotations import Annotation, AnnotationQueue, cohen_kappa
from aios.evaluation.datasets import Dataset, Sample, load_dataset, write_jsonl
from aios.evaluation.evaluators import (
    EVALUATORS,
    Evaluator,
    EvaluatorContext,
    EvaluatorParams,
    Score,
    build_evaluator,
    register_evaluator,
)
from aios.evaluation.harness import EvalReport, Harness, load_report
from aios.evaluation.records import EvalRunRecord, EvalStore, ResultRecord
from aios.evaluation.stats import Comparison, compare_outcomes, compare_results
from aios.evaluation.suite import Suite, load_suite, suite_from_mapping
from aios.evaluation.summary import Summary, summarize
from aios.evaluation.targets import (
    TARGETS,
    Target,
    TargetContext,
    TargetOutput,
    build_target,
    register_target,
)
from aios.evaluation.traces import samples_from_store

__all__ = [
    "EVALUATORS",
    "TARGETS",
    "Annotation",
    "AnnotationQueue",
    "Comparison",
    "Dataset",
    "EvalReport",
    "EvalRunRecord",
    "EvalStore",
    "Evaluator",
    "EvaluatorContext",
    "EvaluatorParams",
    "Harness",
    "ResultRecord",
    "Sample",
    "Score",
    "Suite",
    "Summary",
    "Target",
    "TargetContext",
    "TargetOutput",
    "build_evaluator",
    "build_target",
    "cohen_kappa",
    "compare_outcomes",
    "compare_results",
    "load_dataset",
    "load_report",
    "load_suite",
    "register_evaluator",
    "register_target",
    "samples_from_store",
    "suite_from_mapping",
    "summarize",
    "write_jsonl",
]
