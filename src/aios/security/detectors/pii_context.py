"""Places, organisations, dates and driver's licences: the PII kinds a name alone does not give.

All heuristic, like person names (`pii_names`):

- Places (`GPE`): a capitalised (or all-capitals) run of words that is a country or a city of
  15,000+ people in the GeoNames lists shipped by the PyPI package `geotext` (read from the
  installed package, never downloaded), or any capitalised run after a place cue (`grew up
  in`, `I am in`, `moved to`). A one-word place that is also a person's name (`Florence`)
  needs the cue.
- Organisations (`ORGANIZATION`): a capitalised run ending in a company word (`Inc`, `Ltd`,
  `Group`, `Insurance`), a law-firm shape (`Clark, Romero and Hall`), a double-barrelled
  surname pair on its own (`Weeks-Rivas`), or a run after an employer cue (`works at`, `the
  address of ... is`).
- Dates (`DATE_TIME`), by `dates` mode: `birth` (the default) reports a calendar date only
  after a birth cue (`born on`, `DOB`, `date of birth`): a guard should mask a date of birth,
  not every meeting date or log timestamp; `calendar` reports every calendar date and
  timestamp (`1978-04-13 12:20:39`, `13/04/1978`, `April 13, 1978`); `all` adds bare years
  and weekdays (`in 1980`, `Monday`), which identify nobody ("the 2024 budget").
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aios.errors import ConfigError
from aios.security.detectors.pii_names import LOWER, UPPER, NameGazetteer

__all__ = ["DATE_MODES", "PlaceGazetteer", "find_date_spans", "find_org_spans", "find_place_spans",
           "load_places"]

_CAPW = rf"{UPPER}(?:{LOWER}+|{UPPER}+)(?:['\u2019-]{UPPER}?{LOWER}+)?"
_GAP = r"[ \t]+"
_LINK = r"(?:de|del|la|le|di|da|do|dos|das|du|am|an|upon|on|of|sur|en)"
#: A run of capitalised words (up to four), linked by place particles (`Villafranca del Cid`).
_RUN = re.compile(rf"(?<![\w@/.'\u2019-]){_CAPW}(?:{_GAP}(?:{_LINK}{_GAP}){{0,2}}{_CAPW}){{0,3}}"
                  rf"(?![\w@/]|['\u2019-]\w)")

def _split(words: str) -> list[str]:
    return words.split()


#: English words that are also the names of some town of 15,000 people.
_COMMON = frozenset(_split("""
of the a an and or but in on at to by for with from as is be are was were this that these
those it its my your our their his her we you they he she i me us them not no yes so if
then than there here when where who what which why how all any some many much more most
new old good best nice bath reading mobile march may june july august sale split police
bar hope union university street road avenue center centre city town village north south
east west central lake beach hill hills park river mount port fort saint st san santa
victoria florence orange independence liberty concord commerce opportunity paradise
phone email address name date time number card title mr mrs ms dr prof office manager
since can god man why once love home world early late pay please thanks dear hello
"""))

_PLACE_CUE = re.compile(
    r"(?i:\b(?:grew up|growing up|born|raised|lives?|living|lived|based|located|situated|"
    r"stationed|am|is|are|was|were|stay(?:ing|ed)?|work(?:s|ing|ed)?|study(?:ing)?|"
    r"studied|trip|travel(?:l?ing)?|flew|flying|moved|moving|relocat(?:e|ed|ing)|visit(?:ing|"
    r"ed)?|arriv(?:e|ed|ing)|citizen|resident|native|i'm|we're|came|come|here)\b[ \t]+"
    r"(?:back[ \t]+|here[ \t]+)?(?:in|to|from|of|at)[ \t]+(?:the[ \t]+)?|"
    r"\bhome[ \t]+(?:city|town|country)[ \t]+(?:of[ \t]+)?|"
    # going somewhere, or from somewhere: not "the Coming of the Avengers"
    r"\b(?:coming|going|went|heading|return(?:s|ed|ing)?)[ \t]+(?:back[ \t]+)?to[ \t]+|"
    r"\boriginally[ \t]+from[ \t]+)$")
#: A one-word qualifier in brackets after a place's name that is not a place itself:
#: "Cyprus (Greek)", "Mombasa (City)".
_QUALIFIER = re.compile(rf"[ \t]\((?P<q>{UPPER}{LOWER}{{3,}})\)")
_ABOVE_COUNTRY = re.compile(
    rf"(?m:^[ \t>]*(?P<v>{_CAPW}(?:{_GAP}(?:{_LINK}{_GAP}){{0,2}}{_CAPW}){{0,3}})[ \t]*\n"
    rf"[ \t>]*(?P<c>{_CAPW}(?:{_GAP}{_CAPW}){{0,2}})[ \t]*$)")
_CUE_ENDS = frozenset(("in", "to", "from", "of", "at", "the", "city", "town", "country"))
_LOWER_WORD = re.compile(rf"(?<![\w@/.'\u2019-]){LOWER}")
_LOWER_RUN = re.compile(rf"{LOWER}+(?:[ \t]{LOWER}+){{0,2}}")
_WEAK_CUE = re.compile(r"(?i:\b(?:in|from|near|to|city|town|of)[ \t]+)$")
_NOT_PLACE_AFTER_CUE = frozenset(_split(
    "the a an my your our his her their this that it january february march april may june "
    "july august september october november december monday tuesday wednesday thursday "
    "friday saturday sunday"))


@dataclass(frozen=True)
class PlaceGazetteer:
    """Lower-cased names of countries and of cities of 15,000+ people (`names`), and of the
    countries alone (`countries`: these count even where they are also surnames)."""

    names: frozenset[str]
    countries: frozenset[str] = frozenset()


def _columns(path: Path, columns: tuple[int, ...]) -> Iterator[str]:
    with path.open(encoding="utf-8-sig") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            for column in columns:
                if column < len(parts) and parts[column]:
                    yield parts[column]


@functools.cache
def load_places() -> PlaceGazetteer:
    """The GeoNames lists of the installed `geotext` package (read once per process).

    Raises:
        ConfigError: the package is not installed or its files cannot be read.
    """
    spec = importlib.util.find_spec("geotext")
    if spec is None or spec.origin is None:
        raise ConfigError("place detection needs the GeoNames lists of the `geotext` package: "
                          "pip install 'aios[security]' (or pip install geotext), or build the "
                          "PII detector without GPE in `types`")
    data = Path(spec.origin).parent / "data"
    try:
        countries = {n.lower() for n in _columns(data / "countryInfo.txt", (4,))}
        cities = {n.lower() for n in _columns(data / "cities15000.txt", (1, 2))}
    except OSError as exc:
        raise ConfigError(f"cannot read the place lists in {data}: {exc}; reinstall `geotext`"
                          ) from exc
    return PlaceGazetteer(frozenset(countries | cities) - _COMMON,
                          frozenset(countries) - _COMMON)


# "a year at Healthpocket Inc in SCHLAGLES", "support Factset in Bjert 6091": the place
# after a company after an employer cue.
_COMPANY_IN = re.compile(
    rf"(?i:\b(?:at|for|with|support|join(?:ed|ing)?)[ \t]+)(?-i:{_CAPW}(?:{_GAP}{_CAPW}){{0,3}})"
    rf"[ \t]+in[ \t]+(?P<v>{_CAPW}(?:{_GAP}(?:{_LINK}{_GAP})?{_CAPW}){{0,3}})"
    rf"(?=[ \t]*(?:[,.;:!?]|\d|$)|[ \t]+(?:in|which|where|and|as)\b)")


def find_place_spans(text: str, places: PlaceGazetteer,
                     people: NameGazetteer | None) -> Iterator[tuple[int, int, float]]:
    """(start, end, score) of each place name in `text`."""
    for match in _COMPANY_IN.finditer(text):
        if match.group("v").split()[0].lower() not in _NOT_PLACE_AFTER_CUE:
            yield match.start("v"), match.end("v"), 0.6
    for match in _RUN.finditer(text):
        start, end = match.span()
        run = match.group()
        words = run.split()
        cued = _PLACE_CUE.search(text, max(0, start - 40), start) is not None
        # The longest known part that ends the run (`Southern Austria`); a known word before
        # other capitalised ones is more often a first name or a heading (`Alice Goldberg`,
        # `Mission Statement`).
        known = next((" ".join(words[-size:]) for size in range(len(words), 0, -1)
                      if " ".join(words[-size:]).lower() in places.names), None)
        if known is None:
            if cued and words[0].lower() not in _NOT_PLACE_AFTER_CUE:
                yield start, end, 0.6
            continue
        a = start + run.rindex(known)
        name = known.lower()
        one_name = " " not in known and people is not None and name not in \
            places.countries and (name in people.first or name in people.last)
        if not one_name or cued or _WEAK_CUE.search(text, max(0, a - 8), a) is not None:
            # "Cyprus (Greek)", not "Chile (Santiago)": two places
            qualifier = _QUALIFIER.match(text, a + len(known))
            b = a + len(known) if qualifier is None or \
                qualifier.group("q").lower() in places.names else qualifier.end()
            yield a, b, 0.75 if cued else 0.65
    yield from _town_above_country(text, places)
    if text == text.lower():
        yield from _lower_case(text, places)


def _town_above_country(text: str, places: PlaceGazetteer) -> Iterator[tuple[int, int, float]]:
    """A line of capitalised words right above a line that is a country alone (`Chiclana
    de la Frontera\nSpain`, `ALFRICK\nUnited Kingdom`): the town and its country."""
    for match in _ABOVE_COUNTRY.finditer(text):
        if match.group("c").lower() in places.countries:
            yield match.start("v"), match.end("v"), 0.6


def _lower_case(text: str, places: PlaceGazetteer) -> Iterator[tuple[int, int, float]]:
    """In an all lower-case text, a known place after a place cue (`i'm from switzerland`)."""
    for word in _LOWER_WORD.finditer(text):
        start = word.start()
        before = text[max(0, start - 9):start].split()
        if not before or before[-1] not in _CUE_ENDS or \
                _PLACE_CUE.search(text, max(0, start - 40), start) is None:
            continue
        match = _LOWER_RUN.match(text, start)
        assert match is not None
        words = match.group().split()
        for size in range(len(words), 0, -1):
            if " ".join(words[:size]) in places.names:
                yield start, start + len(" ".join(words[:size])), 0.6
                break


_ORG_WORD = (r"(?:Inc|Incorporated|Ltd|Limited|LLC|LLP|Corp|Corporation|Co|Company|GmbH|AG|"
             r"SA|S\.A|PLC|Plc|NV|BV|Group|Partners|Associates|Holdings|Technologies|"
             r"Technology|Software|Solutions|Systems|Insurance|Bank|Capital|Finance|Markets|"
             r"Labs|Consulting|Industries|Enterprises|Foundation|Institute|Health|Analytics|"
             r"Media|Networks|Ventures|Transit|Bioscience|Pharmaceuticals|Energy|Global|Research|"
             r"Agency|Lines|Insights|Ratings)")
_CAP_OR_AND = rf"(?:{_CAPW}|&|and)"
_ABBREVIATED = r"(?:Inc|Ltd|Corp|Co|S\.A|Plc)\."
_ORG_PATTERNS: tuple[tuple[re.Pattern[str], float], ...] = (
    (re.compile(rf"(?<![\w.-])(?!The\b)(?:\d{{1,4}}{_GAP})?(?:{_CAPW}{_GAP}){{1,4}}"
                rf"(?:{_ABBREVIATED}|{_ORG_WORD}"
                rf"(?![\w-]))"), 0.75),
    # "Thomas and Sons", "Smith & Co."
    (re.compile(rf"(?<![\w.-]){_CAPW}{_GAP}(?:and|&){_GAP}(?:Sons|Daughters|Co\.|Partners)"
                rf"(?:{_GAP}(?:{_ABBREVIATED}|{_ORG_WORD}(?![\w-])))?(?![\w-])"), 0.75),
    (re.compile(rf"(?<![\w.-])(?:University|Bank|Institute|College|Ministry|Museum)"
                rf"{_GAP}of{_GAP}(?:the{_GAP})?{_CAPW}(?:{_GAP}{_CAPW}){{0,2}}"), 0.75),
)
#: A law-firm shape: three surnames (`Clark, Romero and Hall`), not a list's tail.
_FIRM = re.compile(rf"(?<![\w.-])(?<!, )({_CAPW}),{_GAP}({_CAPW}),?{_GAP}(?:and|&){_GAP}"
                   rf"({_CAPW})(?![\w-])")
_HYPHEN_PAIR = re.compile(rf"(?<![\w.'\u2019-])(?<!{UPPER}{LOWER} )({_CAPW})-({_CAPW})"
                          rf"(?![\w-])(?! {UPPER})")
_ORG_RUN = rf"{_CAPW}(?:{_GAP}(?:and{_GAP}|&{_GAP})?{_CAPW}){{0,3}}"
_ORG_CUES: tuple[re.Pattern[str], ...] = (
    re.compile(
        rf"(?i:\b(?:work(?:s|ed|ing)?|job|employed|intern(?:ed|ing)?|position|year|years|"
        rf"months|stint|career|joined|joining|left|founded|co-founded|ceo|cto|cfo|director|"
        rf"manager|engineer|analyst|consultant|assistant)[ \t]+(?:at|for|with|of|by)|"
        rf"\baddress of|\bbecame|\bacquired by|\bsupport|\bcompany)[ \t]+(?P<v>{_ORG_RUN})"
        rf"(?=[ \t]+(?:is|as|in|and|for|was|which|where)\b|[,.;:!?]|$)"),
    re.compile(rf"\b[Tt]he[ \t]+(?P<v>{_ORG_RUN})[ \t]+(?:office|offices|headquarters|"
               rf"branch|staff|employees|board)\b"),
)


# In a signature or letterhead block, the line right above the street line, below the first
# line (the person's name): "Dreux Joly\nPaxata\nPSC 3294, Box 9168".
_LETTERHEAD = re.compile(
    rf"(?m:(?<=\n)[ \t>]*(?P<v>{_CAPW}(?:{_GAP}{_CAPW}){{0,3}})[ \t]*\n(?=[ \t>]*(?:\d{{1,6}}"
    rf"[ \t]+{UPPER}|PSC|Unit[ \t]+\d|USNS|USS|USCGC|[Tt]he[ \t]+corner)))")


# A signature: a name on the first line, the employer on the second, and an address or a
# phone number further down ("Julcsa Kárpáthy\nMhealthcoach\n50668 Kiannonkatu 98 ...").
_SIGNATURE = re.compile(
    rf"\A[ \t>]*{_CAPW}(?:{_GAP}(?:{UPPER}\.?{_GAP})?{_CAPW}){{1,2}}[ \t]*\n[ \t>]*"
    rf"(?P<v>{_CAPW}(?:{_GAP}{_CAPW}){{0,3}})[ \t]*\n(?=[^\d]{{0,120}}\d)")
# A job title alone on the signature's second line ("Echocardiographer", "Accountant").
_JOB = re.compile(r"\w+(?:er|or|ist|ian|ant|ent|ive|ary)$")
# "meet at Corelogic, 0896 69 Farnell Street": a name between "at" and a street line.
_AT_BEFORE_ADDRESS = re.compile(rf"\bat[ \t]+(?P<v>{_ORG_RUN}),[ \t]+(?=\d{{1,6}}[ \t]+\w)")


def find_org_spans(text: str, people: NameGazetteer | None) -> Iterator[tuple[int, int, float]]:
    """(start, end, score) of each organisation name in `text`."""
    for pattern in (_LETTERHEAD, _SIGNATURE, _AT_BEFORE_ADDRESS):
        for match in pattern.finditer(text):
            value = match.group("v")
            if value.split()[0].lower() not in _NOT_PLACE_AFTER_CUE and not _JOB.match(value):
                yield match.start("v"), match.end("v"), 0.55
    for pattern, score in _ORG_PATTERNS:
        for match in pattern.finditer(text):
            yield match.start(), match.end(), score
    if people is not None:
        for match in _FIRM.finditer(text):
            if all(match.group(i).lower() in people.last for i in (1, 2, 3)) and not all(
                    match.group(i).lower() in people.first for i in (1, 2, 3)):
                yield match.start(), match.end(), 0.7
        for match in _HYPHEN_PAIR.finditer(text):
            if match.group(1).lower() in people.last and match.group(2).lower() in people.last:
                yield match.start(), match.end(), 0.6
    for cue in _ORG_CUES:
        for match in cue.finditer(text):
            if match.group("v").split()[0].lower() not in _NOT_PLACE_AFTER_CUE:
                yield match.start("v"), match.end("v"), 0.6


_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:1[89]\d\d|20\d\d)"
_TIME = r"(?:[ T](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?"
_DATES: tuple[re.Pattern[str], ...] = (
    re.compile(rf"(?<![\w-]){_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]){_TIME}(?![\w:])"),
    re.compile(rf"(?<![\w/.-])(?:0?[1-9]|[12]\d|3[01])([/.-])(?:0?[1-9]|1[0-2]|[12]\d|3[01])"
               rf"\1(?:{_YEAR}|\d\d)(?![\w/-]|\.\d)"),
    re.compile(rf"(?<!\w){_MONTH}[ \t]+{_DAY},?[ \t]+{_YEAR}(?!\w)"),
    re.compile(rf"(?<!\w){_DAY}[ \t]+(?:of[ \t]+)?{_MONTH},?[ \t]+{_YEAR}(?!\w)"),
    re.compile(rf"(?<!\w)(?:{_MONTH}[ \t]+{_DAY}|{_DAY}[ \t]+(?:of[ \t]+)?{_MONTH})(?![\w.])"
               rf"(?![ \t]+\d)"),
)
_BARE = re.compile(
    rf"(?<![\w$£€#.,-]){_YEAR}(?![\w%-]|[.,]\d)|\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|"
    rf"Saturday|Sunday)\b")
_BIRTH_CUE = re.compile(r"(?i:\b(?:born|birth|dob|d\.o\.b\.?|birthday|birthdate)\b[^\n]{0,16})$")


#: What `find_date_spans` reports: dates of birth, every calendar date, or also bare years
#: and weekdays.
DATE_MODES = ("birth", "calendar", "all")


def find_date_spans(text: str, mode: str = "birth") -> Iterator[tuple[int, int, float]]:
    """(start, end, score) of each date in `text` that `mode` (one of `DATE_MODES`) reports."""
    taken: list[tuple[int, int]] = []
    for pattern in _DATES:
        for match in pattern.finditer(text):
            a, b = match.span()
            if any(s < b and a < e for s, e in taken):
                continue
            taken.append((a, b))
            birth = _BIRTH_CUE.search(text, max(0, a - 40), a) is not None
            if birth or mode != "birth":
                yield a, b, 0.9 if birth else 0.7
    if mode == "all":
        for match in _BARE.finditer(text):
            a, b = match.span()
            if not any(s < b and a < e for s, e in taken):
                yield a, b, 0.4
