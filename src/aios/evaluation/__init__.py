"""Evaluation: datasets, targets, evaluators (code, judge, human), the harness, A/B statistics,
reports, and datasets built from production traces.

```python
from aios.evaluation import Harness, load_suite

report = await Harness(store, gateway=gateway).run(load_suite("examples/eval/suite.yaml"))
print(report.summary.accuracy)
```
"""

from aios.evaluation.annotations import Agreement, Annotation, AnnotationQueue, cohen_kappa
from aios.evaluation.datasets import Dataset, Sample, load_dataset, sample_to_row, write_jsonl
from aios.evaluation.evaluators import (
    EVALUATORS,
    Evaluator,
    EvaluatorContext,
    EvaluatorParams,
    Score,
    build_evaluator,
    register_evaluator,
)
from aios.evaluation.harness import EvalReport, Harness, Progress, load_report
from aios.evaluation.records import EvalRunRecord, EvalStore, ResultRecord
from aios.evaluation.reports import (
    RichProgress,
    comparison_json,
    exit_code,
    render_comparison,
    render_report,
    report_json,
    write_comparison,
    write_report,
)
from aios.evaluation.stats import (
    BootstrapInterval,
    Comparison,
    McNemarResult,
    compare_outcomes,
    compare_results,
    mcnemar_exact,
    mcnemar_power,
    mcnemar_sample_size,
    paired_bootstrap_ci,
)
from aios.evaluation.suite import EvaluatorSpec, Suite, load_suite, suite_from_mapping
from aios.evaluation.summary import EvaluatorStats, Summary, pass_at_k, summarize
from aios.evaluation.targets import (
    TARGETS,
    Target,
    TargetContext,
    TargetOutput,
    build_target,
    register_target,
)
from aios.evaluation.traces import TraceExport, parse_since, samples_from_store

__all__ = [
    "EVALUATORS",
    "TARGETS",
    "Agreement",
    "Annotation",
    "AnnotationQueue",
    "BootstrapInterval",
    "Comparison",
    "Dataset",
    "EvalReport",
    "EvalRunRecord",
    "EvalStore",
    "Evaluator",
    "EvaluatorContext",
    "EvaluatorParams",
    "EvaluatorSpec",
    "EvaluatorStats",
    "Harness",
    "McNemarResult",
    "Progress",
    "ResultRecord",
    "RichProgress",
    "Sample",
    "Score",
    "Suite",
    "Summary",
    "Target",
    "TargetContext",
    "TargetOutput",
    "TraceExport",
    "build_evaluator",
    "build_target",
    "cohen_kappa",
    "compare_outcomes",
    "compare_results",
    "comparison_json",
    "exit_code",
    "load_dataset",
    "load_report",
    "load_suite",
    "mcnemar_exact",
    "mcnemar_power",
    "mcnemar_sample_size",
    "paired_bootstrap_ci",
    "parse_since",
    "pass_at_k",
    "register_evaluator",
    "register_target",
    "render_comparison",
    "render_report",
    "report_json",
    "sample_to_row",
    "samples_from_store",
    "suite_from_mapping",
    "summarize",
    "write_comparison",
    "write_jsonl",
    "write_report",
]
