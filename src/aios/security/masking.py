"""Replacing findings in text: one-way masks and reversible pseudonyms.

`Masker` turns `mail me at ann@example.com` into `mail me at <EMAIL>` (mask) or
`mail me at <EMAIL_1>` (pseudonymise). A pseudonymising masker keeps a per-call mapping, so
the same value always gets the same placeholder and `restore` puts the values back into the
model's answer. A masker is made per call and never shared between calls.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from aios.security.detectors.base import Finding, merge_findings

__all__ = ["Masker", "label_of"]

_LABELS = {"EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CARD",
           "US_SSN": "SSN", "IBAN_CODE": "IBAN", "IP_ADDRESS": "IP", "PERSON": "PERSON",
           "STREET_ADDRESS": "ADDRESS"}
_PLACEHOLDER = re.compile(r"<([A-Z]+)_(\d+)>")


def label_of(finding_type: str) -> str:
    """The placeholder label of a finding type (`EMAIL_ADDRESS` -> `EMAIL`, secrets -> `SECRET`)."""
    return _LABELS.get(finding_type, "SECRET")


class Masker:
    """Replaces findings in text.

    Args:
        pseudonymise: numbered, reversible placeholders (`<EMAIL_1>`) instead of `<EMAIL>`.
    """

    def __init__(self, pseudonymise: bool = False):
        self.pseudonymise = pseudonymise
        self._by_value: dict[tuple[str, str], str] = {}
        self._by_placeholder: dict[str, str] = {}
        self._counts: dict[str, int] = {}

    def placeholder(self, finding: Finding) -> str:
        """The placeholder for `finding` (stable for a value within this masker)."""
        label = label_of(finding.type)
        if not self.pseudonymise:
            return f"<{label}>"
        key = (label, finding.text)
        if key not in self._by_value:
            self._counts[label] = self._counts.get(label, 0) + 1
            token = f"<{label}_{self._counts[label]}>"
            self._by_value[key] = token
            self._by_placeholder[token] = finding.text
        return self._by_value[key]

    def mask(self, text: str, findings: Iterable[Finding]) -> str:
        """`text` with every finding replaced (overlaps resolved first)."""
        out: list[str] = []
        pos = 0
        for finding in merge_findings(findings):
            if finding.start < pos:
                continue
            out.append(text[pos:finding.start])
            out.append(self.placeholder(finding))
            pos = finding.end
        out.append(text[pos:])
        return "".join(out)

    @property
    def mapping(self) -> dict[str, str]:
        """Placeholder -> original value (empty unless pseudonymising)."""
        return dict(self._by_placeholder)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where `text` names this masker's placeholders: what `restore` would replace."""
        if not self._by_placeholder:
            return []
        return [m.span() for m in _PLACEHOLDER.finditer(text)
                if m.group(0) in self._by_placeholder]

    def restore(self, text: str) -> str:
        """Put the original values back where the model repeated their placeholders."""
        if not self._by_placeholder:
            return text
        return _PLACEHOLDER.sub(lambda m: self._by_placeholder.get(m.group(0), m.group(0)), text)
