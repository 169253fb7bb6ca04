"""Detectors: prompt injection, PII and secrets, each registered by name.

Importing this package registers the built-in detectors (`injection`, `pii`, `secrets`).
"""

from aios.security.detectors.base import (
    DETECTORS,
    Detector,
    Finding,
    detector_names,
    get_detector,
    merge_findings,
    register_detector,
    scan,
)
from aios.security.detectors.injection import InjectionClassifier, InjectionDetector
from aios.security.detectors.pii import PII_TYPES, PiiDetector
from aios.security.detectors.secrets import SecretsDetector

__all__ = [
    "DETECTORS",
    "PII_TYPES",
    "Detector",
    "Finding",
    "InjectionClassifier",
    "InjectionDetector",
    "PiiDetector",
    "SecretsDetector",
    "detector_names",
    "get_detector",
    "merge_findings",
    "register_detector",
    "scan",
]
