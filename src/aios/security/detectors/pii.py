"""Personal data: e-mail, phone, US SSN, payment card, IBAN, IP address, driver's licence,
person name, street address, place, organisation and date.

Each pattern type is a rule: a regular expression that proposes candidates and, where the
format has one, a validator that rejects what cannot be real (checksums from `python-stdnum`:
Luhn for cards, ISO 13616 for IBANs, the SSA rules for SSNs). Type names follow Presidio's
(`EMAIL_ADDRESS`, `US_SSN`, ...), so results compare with its tools and data sets.

Person names (`pii_names`: cue phrases, honorifics, name shapes, a census gazetteer) and
street addresses (`pii_address`: the written shapes of street lines) are heuristic: they find
the common shapes, not every name or address, and are scored lower than validated types.
So are places, organisations and dates (`pii_context`).

Not every kind is on by default: places (`GPE`) and organisations (`ORGANIZATION`) name the
world, not a person, and masking every city and company would ruin ordinary answers, so they
are reported only when asked for (`types=[...]`). Dates are dates of birth by default, not
every meeting date, log timestamp or "the 2024 budget" (`dates`: birth | calendar | all).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.us import ssn as std_ssn

from aios.errors import ConfigError
from aios.security.detectors.base import Finding, merge_findings, register_detector
from aios.security.detectors.pii_address import find_address_spans, resolve_addresses
from aios.security.detectors.pii_address_parts import address_pieces
from aios.security.detectors.pii_context import (
    DATE_MODES,
    find_date_spans,
    find_org_spans,
    find_place_spans,
    load_places,
)
from aios.security.detectors.pii_names import find_person_spans, load_gazetteer

__all__ = ["DEFAULT_PII_TYPES", "PII_TYPES", "PiiDetector", "PiiRule"]


@dataclass(frozen=True)
class PiiRule:
    """One PII type: a candidate pattern, an optional validator and a score.

    Attributes:
        type: the finding type.
        pattern: proposes candidates; group `v` (if present) is the value, else the match.
        score: the confidence of a validated match.
        validate: returns False for a candidate that cannot be this type.
        needs: characters one of which the text must contain for the pattern to be tried
            (a cheap pre-check: most texts have no `@`, many no digit).
    """

    type: str
    pattern: re.Pattern[str]
    score: float
    validate: Callable[[str], bool] | None = None
    needs: frozenset[str] = frozenset("0123456789")


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _valid_card(value: str) -> bool:
    digits = _digits(value)
    # Known issuer prefixes: Visa, Mastercard (incl. 2-series), Amex, Diners, Discover,
    # JCB (incl. the old 1800/2131 ranges), Maestro, UnionPay.
    return (12 <= len(digits) <= 19 and luhn.is_valid(digits)
            and re.match(r"(4|5[0-8]|2[2-7]|3[0-9]|6|1800|2131)", digits) is not None
            and len(set(digits)) > 1)


def _valid_ssn(value: str) -> bool:
    digits = _digits(value)
    return len(digits) == 9 and bool(std_ssn.is_valid(digits))


def _valid_iban(value: str) -> bool:
    return bool(std_iban.is_valid(value))


def _valid_ip(value: str) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    # Version strings such as 1.2.0.0 parse as IPv4; an all-small-octets address with a zero
    # tail is far more often a version than a host.
    return not (address.version == 4 and value.endswith(".0.0"))


_EXT = r"(?:[ \t]?(?:x|ext\.?[ \t]?)\d{1,5})?"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")


def _phone_digits(value: str) -> str:
    return _digits(re.sub(r"(?:x|ext\.?)\s?\d+$", "", value))


def _valid_phone_in_context(value: str) -> bool:
    digits = _phone_digits(value)
    return 7 <= len(digits) <= 15 and len(set(digits)) >= 3 and not _DATE.match(value)


_YEAR_RANGE = re.compile(r"^(?:1[89]|20)\d\d\s?[-/]\s?(?:1[89]|20)\d\d$")


def _valid_phone(value: str) -> bool:
    # Without a cue ("Phone:", a leading +) short numbers are more often postcodes, times or
    # amounts than phones, so ask for eight digits and some separator, and no year range.
    if _YEAR_RANGE.match(value.strip()):
        return False
    digits = _phone_digits(value)
    if not _valid_phone_in_context(value) or (len(digits) < 8 and not value.startswith("+")):
        return False
    return bool(re.search(r"[\s().+-]", value.strip()))


#: The rules, in no particular order: overlaps are resolved by score then length.
RULES: tuple[PiiRule, ...] = (
    PiiRule("EMAIL_ADDRESS", re.compile(
        r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9-]{1,63}\.)+"
        r"[A-Za-z]{2,24}\b"), 0.95, needs=frozenset("@")),
    PiiRule("US_SSN", re.compile(r"(?<![\d-])(?P<v>\d{3}([- ])\d{2}\2\d{4})(?![\d-])"),
            0.9, _valid_ssn),
    PiiRule("US_SSN", re.compile(
        r"(?i)\b(?:ssn|social security(?: number| no\.?)?)\W{0,3}(?:is\W{0,2})?"
        r"(?P<v>\d{9})\b"), 0.85, _valid_ssn),
    PiiRule("CREDIT_CARD", re.compile(
        r"(?<![\w+-])(?P<v>\d{4}(?:[ -]?\d{4}){2}[ -]?\d{1,7}|\d{4}[ -]?\d{6}[ -]?\d{5}|"
        r"\d{12,19})(?![\d-])"), 0.9, _valid_card),
    PiiRule("IBAN_CODE", re.compile(
        r"\b(?P<v>[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?)\b", re.IGNORECASE),
        0.95,
        _valid_iban),
    PiiRule("IP_ADDRESS", re.compile(
        r"(?<![\w.])(?P<v>(?:\d{1,3}\.){3}\d{1,3})(?![\w.])"), 0.8, _valid_ip),
    PiiRule("IP_ADDRESS", re.compile(
        r"(?<![\w:])(?P<v>(?:[0-9A-Fa-f]{1,4}:){2,7}(?::|[0-9A-Fa-f]{1,4})"
        r"|(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4})?)(?![\w:])"), 0.8, _valid_ip,
        needs=frozenset(":")),
    PiiRule("PHONE_NUMBER", re.compile(
        rf"(?<![\w+])(?P<v>(?:\+\d{{1,3}}[ \t.-]?)?(?:\(0\)[ \t]?)?(?:\(\d{{1,4}}\)[ \t.-]?)?"
        rf"\d{{1,5}}(?:[ \t.-]\d{{2,5}}){{1,4}}{_EXT})(?!\w|-\d)(?!\.\d)"), 0.6, _valid_phone),
    PiiRule("PHONE_NUMBER", re.compile(
        rf"(?<![\w+])(?P<v>\(\d{{2,4}}\)[ \t]?\d{{3}}[ \t.-]?\d{{3,4}}{_EXT})(?!\w)"), 0.75,
        _valid_phone),
    PiiRule("PHONE_NUMBER", re.compile(r"(?<![\w+])(?P<v>\+\d{8,15})(?!\w)"), 0.75,
            _valid_phone),
    PiiRule("PHONE_NUMBER", re.compile(
        rf"(?i:\b(?:phone|tel|telephone|mobile|cell|fax|desk|office|call me at|text me at|"
        rf"call me on|reach me on|text me on|reach me at|answering at|registered|whatsapp)\b"
        rf"[^\w\n+(]{{0,3}}\n?(?:no\.?|number|is|on)?[^\w\n+(]{{0,2}})"
        rf"(?P<v>\+?\(?\d[\d \t().-]{{5,18}}\d{_EXT})(?!\w|-\d)"), 0.8, _valid_phone_in_context),
    # A number labelled after it, as in a signature ("781 1704 office", "+1 555 0100 mobile").
    PiiRule("PHONE_NUMBER", re.compile(
        rf"(?<![\w+(])(?P<v>\+?\(?\d[\d \t().-]{{5,18}}\d{_EXT})[ \t]+(?i:office|mobile|"
        rf"cell|fax|home|work|phone|tel)\b"), 0.75, _valid_phone_in_context),
    PiiRule("US_DRIVER_LICENSE", re.compile(
        r"(?i:\b(?:driver'?s?|driving)[ \t]+licen[cs]e(?:[ \t]+(?:number|no\.?|#|id))?"
        r"[^\w\n]{0,3}(?:is[ \t]+|:[ \t]*)?)(?P<v>[A-Z0-9](?:[A-Z0-9-]{3,18})[A-Z0-9])\b"),
        0.85, lambda v: any(c.isdigit() for c in v)),
)

#: Every type this detector can report.
PII_TYPES: tuple[str, ...] = (*dict.fromkeys(rule.type for rule in RULES), "PERSON",
                              "STREET_ADDRESS", "DATE_TIME", "GPE", "ORGANIZATION")
#: The types reported when none are named: all but places and organisations.
DEFAULT_PII_TYPES: tuple[str, ...] = tuple(
    t for t in PII_TYPES if t not in ("GPE", "ORGANIZATION"))


@register_detector("pii")
class PiiDetector:
    """Finds personal data with validated patterns and name and address heuristics.

    Class attributes:
        finding_types: every type it can report (a check's `types` is validated against it).

    Args:
        types: report only these types (default: `DEFAULT_PII_TYPES`, all but places and
            organisations).
        min_score: drop findings scored below this (0.7 keeps validated types, cue- and
            gazetteer-backed full names and street lines; lone first names score 0.5).
        gazetteer: use the census name lists to find names without a cue (needs the
            `names` package; False: cues and name shapes only).
        dates: which dates are DATE_TIME: `birth` (a calendar date after a birth cue, the
            default), `calendar` (every calendar date and timestamp) or `all` (also bare
            years and weekdays).

    Raises:
        ConfigError: an unknown type or date mode, or a name or place list is needed but not
            installed.
    """

    name = "pii"
    kind = "data"
    finding_types = PII_TYPES
    #: Findings depend on the text alone (patterns, validators, fixed name and place lists).
    pure = True

    def __init__(self, types: Iterable[str] | None = None, min_score: float = 0.0,
                 gazetteer: bool = True, dates: str = "birth"):
        wanted = set(types) if types is not None else set(DEFAULT_PII_TYPES)
        unknown = wanted - set(PII_TYPES)
        if unknown:
            raise ConfigError(f"unknown PII type(s) {sorted(unknown)}; known: "
                              f"{', '.join(PII_TYPES)}")
        self.rules = tuple(rule for rule in RULES if rule.type in wanted)
        self.min_score = min_score
        self.persons = "PERSON" in wanted
        self.addresses = "STREET_ADDRESS" in wanted
        if dates not in DATE_MODES:
            raise ConfigError(f"unknown PII date mode {dates!r}; known: {', '.join(DATE_MODES)}")
        self.wanted = frozenset(wanted)
        self.dates = dates
        people = self.persons or wanted & {"GPE", "ORGANIZATION"}
        self.gazetteer = load_gazetteer() if gazetteer and people else None
        self.places = load_places() if "GPE" in wanted else None

    def detect(self, text: str) -> list[Finding]:
        """Every validated PII span in `text`, overlaps resolved (a card beats a phone)."""
        found: list[Finding] = []
        present = set(text)
        for rule in self.rules:
            if rule.needs and present.isdisjoint(rule.needs):
                continue
            for match in rule.pattern.finditer(text):
                group = "v" if "v" in rule.pattern.groupindex else 0
                value = match.group(group)
                if rule.validate is not None and not rule.validate(value):
                    continue
                if rule.score < self.min_score:
                    continue
                start, end = match.span(group)
                found.append(Finding(start, end, rule.type, rule.score, value, self.name))
        # Addresses first: a "name" inside a street line is the street's name (Victor Hugo
        # u. 49), so a person span within an address span is dropped.
        places = [Finding(a, b, "STREET_ADDRESS", score, text[a:b], self.name)
                  for a, b, score in resolve_addresses(list(find_address_spans(text)))
                  if score >= self.min_score] if self.addresses else []
        people = [Finding(a, b, "PERSON", score, text[a:b], self.name)
                  for a, b, score in find_person_spans(text, self.gazetteer)
                  if score >= self.min_score
                  and not any(p.start <= a and b <= p.end for p in places)
                  and not self._known_place(text[a:b], score)] if self.persons else []
        found += people
        found += self._pieces(text, places, people) if "GPE" in self.wanted else places
        found += self._context(text, places)
        return merge_findings(found)

    def _known_place(self, value: str, score: float) -> bool:
        """A weakly found "name" that is a known town or country (`Los Angeles` alone on a
        line), when places are reported."""
        return (self.places is not None and score < 0.7 and " " in value
                and value.lower() in self.places.names)

    def _pieces(self, text: str, places: list[Finding], people: list[Finding]
                ) -> list[Finding]:
        """Address blocks, each whole or in pieces (`pii_address_parts`): asked for when
        places are reported, so a block's town is then a place."""
        out: list[Finding] = []
        for place in places:
            pieces = address_pieces(text, place.start, place.end,
                                    [(p.start, p.end) for p in people if p.end <= place.start])
            if pieces is None:
                out.append(place)
            else:
                out += [Finding(a, b, kind, place.score, text[a:b], self.name)
                        for a, b, kind in pieces if kind != "GPE" or self.places is not None]
        return out

    def _context(self, text: str, places: list[Finding]) -> list[Finding]:
        """Dates, organisations and places (outside street addresses)."""
        spans: list[tuple[int, int, float, str]] = []
        if "DATE_TIME" in self.wanted:
            spans += [(a, b, s, "DATE_TIME") for a, b, s in find_date_spans(text, self.dates)]
        if "ORGANIZATION" in self.wanted:
            spans += [(a, b, s, "ORGANIZATION")
                      for a, b, s in find_org_spans(text, self.gazetteer)]
        if self.places is not None:
            spans += [(a, b, s, "GPE")
                      for a, b, s in find_place_spans(text, self.places, self.gazetteer)]
        return [Finding(a, b, kind, score, text[a:b], self.name) for a, b, score, kind in spans
                if score >= self.min_score
                and not any(p.start <= a and b <= p.end for p in places)]
