"""The secrets rules' keyword prefilter: derived keywords, and rules still firing through it."""

from __future__ import annotations

import re

import pytest

from aios.security.detectors import secrets as secrets_module
from aios.security.detectors.rule_keywords import KeywordIndex, fold, required_literals
from aios.security.detectors.secret_rules import EXTRA_RULES, SecretRule


@pytest.mark.parametrize(("pattern", "keywords"), [
    (r"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,40}", {"ghp_", "gho_", "ghu_", "ghs_", "ghr_"}),
    (r"(?i:github|gh_?client)[\w.]{0,40}?=(?P<v>[0-9a-f]{40})", {"github", "ghclient",
                                                                 "gh_client"}),
    (r"AKIA[0-9A-Z]{16}", {"akia"}),
    (r"xox[ab]-\d+", {"xoxa-", "xoxb-"}),
    # Both literals are required; the longer one is the more selective.
    (r"(?i)jwt[\w-]*secret\W{1,5}", {"secret"}),
    # A string containing another keyword is implied by it.
    (r"['\"]?cl(?:oudant)?\W\w+", {"cl"}),
])
def test_keywords_are_derived_from_the_rule(pattern, keywords):
    assert required_literals(re.compile(pattern)) == keywords


@pytest.mark.parametrize("pattern", [
    r"[A-Za-z0-9]{40}",  # no literal at all
    r"(?:sk_|[0-9a-f]{8})[A-Za-z0-9]{20}",  # one branch has no literal
    r"(?:ghp_)?[A-Za-z0-9]{36}",  # the literal is optional
    r"(?P<q>\w)[0-9]+(?P=q)",  # a back-reference
])
def test_rules_without_a_required_literal_have_no_keywords(pattern):
    assert required_literals(re.compile(pattern)) is None


def test_every_shipped_rule_match_contains_one_of_its_keywords():
    samples = ("export GITHUB_TOKEN=ghp_" + "A1b2C3d4E5" * 4, "AKIAIOSFODNN7EXAMPLE",
               "token: xoxb-1234567890-abcdefghijkl", "PRIVATEKEY = " + "Ab3+" * 10 + "xy1=")
    for rule in EXTRA_RULES:
        keywords = required_literals(rule.pattern)
        for text in samples:
            if rule.pattern.search(text) and keywords is not None:
                assert any(k in fold(text) for k in keywords), (rule.type, text)


def test_fold_maps_every_character_ignorecase_matches_to_an_ascii_letter():
    # `re.IGNORECASE` matches U+017F (long s) to `s` and U+212A (Kelvin sign) to `k`, but
    # `str.lower` keeps the long s: the folded text must still hold the keyword.
    letter = re.compile(r"(?i)[a-z]")
    odd = [chr(c) for c in range(128, 0x110000) if letter.fullmatch(chr(c))]
    assert odd
    for ch in odd:
        folded = fold(ch)
        assert len(folded) == 1 and re.fullmatch(rf"(?i){re.escape(folded)}", ch), ch


def test_keyword_index_finds_overlapping_keywords():
    index = KeywordIndex(["sk", "sk_live_", "live", "ghp_"])
    assert index.found("token SK_LIVE_abc") == {"sk", "sk_live_", "live"}
    assert index.found("nothing here") == frozenset()
    assert KeywordIndex([]).found("anything") == frozenset()


@pytest.fixture
def own_rules_only(monkeypatch):
    """A detector with two extra rules: one with a keyword, one with none."""
    rules = (
        *EXTRA_RULES,
        SecretRule("test_keyword_rule", re.compile(r"(?i)zqxvault[:=](?P<v>[0-9]{8})"), 0.95),
        SecretRule("test_keywordless_rule", re.compile(r"(?<!\w)[A-Z]{3}[0-9]{9}(?!\w)"), 0.95),
    )
    monkeypatch.setattr(secrets_module, "EXTRA_RULES", rules)
    return secrets_module.SecretsDetector(detect_secrets_plugins=False, engine=False)


@pytest.mark.parametrize("text", ["zqxvault=12345678", "ZQXVAULT=12345678",
                                  "key ZqxVault:12345678 here"])
def test_a_rule_with_keywords_fires_whatever_the_case_of_the_keyword(own_rules_only, text):
    assert required_literals(re.compile(r"(?i)zqxvault[:=](?P<v>[0-9]{8})")) == {"zqxvault=",
                                                                                "zqxvault:"}
    found = [(f.type, f.text) for f in own_rules_only.detect(text)]
    assert found == [("test_keyword_rule", "12345678")]


def test_a_rule_whose_keyword_is_a_unicode_case_variant_still_fires():
    # U+212A (Kelvin sign) matches `k` under IGNORECASE; U+017F (long s) matches `s`.
    rules = (
        *EXTRA_RULES,
        SecretRule("test_kelvin", re.compile(r"(?i)kelvinkey=(?P<v>[0-9]{8})"), 0.95),
        SecretRule("test_long_s", re.compile(r"(?i)sesame=(?P<v>[0-9]{8})"), 0.95),
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(secrets_module, "EXTRA_RULES", rules)
        det = secrets_module.SecretsDetector(detect_secrets_plugins=False, engine=False)
    found = {f.type for f in det.detect("\u212aelvinkey=12345678 and \u017fe\u017fame=87654321")}
    assert {"test_kelvin", "test_long_s"} <= found


def test_a_rule_without_keywords_still_runs(own_rules_only):
    assert required_literals(re.compile(r"(?<!\w)[A-Z]{3}[0-9]{9}(?!\w)")) is None
    found = own_rules_only.detect("the reference is JQZ123456789 today")
    assert [(f.type, f.text) for f in found] == [("test_keywordless_rule", "JQZ123456789")]


def test_texts_shorter_than_any_finding_have_none():
    det = secrets_module.SecretsDetector()
    assert det.detect("") == [] and det.detect("ok") == [] and det.detect("pw=") == []


def test_the_keyword_assignment_rule_runs_only_with_one_of_its_keywords_in_any_case():
    assert {"pass", "pwd", "secret", "token", "api_key", "apikey"} <= (
        secrets_module._ASSIGNMENT_KEYWORDS or set())
    det = secrets_module.SecretsDetector(detect_secrets_plugins=False, engine=False)
    for text in ('API_KEY = "q8Zt3vNw9LpR2xKc7HsYb4Mf"', 'Api-Key: "q8Zt3vNw9LpR2xKc7HsYb4Mf"',
                 "PASSWORD='hunter2'", "pa\u017f\u017fword='hunter2'"):
        assert [f.type for f in det.detect(text)] in (["generic_secret"], ["password"]), text
