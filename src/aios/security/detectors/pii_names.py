"""Person names: cue phrases, honorifics, name shapes, and a census gazetteer.

Names have no checksum, so this is heuristic. A span is a name when

1. a cue says so: an honorific (`Dr.`, `Mrs`), a phrase (`my name is`, `Dear`, `signed`,
   `said`), or a verb that follows people (`... lives at`, `... was born`);
2. the shape says so: capitalised words around a middle initial (`Ravil G. Yefimov`);
3. the gazetteer says so: capitalised words that start with a known first name
   (`Naomi Ryan`), a name alone on a line, or a known first name alone in running text;
4. its company says so: an item of a list of mostly known first names, or a later mention
   of part of a name found with confidence (`... Maciej Borkowski ... Borkowski`).

Scores rise with the evidence: 0.5 for a lone first name, up to 0.85 for a known first name
followed by a known surname; `PiiDetector(min_score=0.7)` keeps only the strong kinds.

The gazetteer is the US Census Bureau's 1990 frequency lists (5,163 first names, 88,799
surnames) as shipped by the PyPI package `names`; it is read from the installed package,
never downloaded. First names that are also ordinary English words (`Will`, `May`, `Grace`)
or places (`Paris`, `Georgia`) count only with a cue. Runs that contain an organisation or
street word (`Inc`, `University`, `Street`) are not people.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aios.errors import ConfigError

__all__ = ["AMBIGUOUS_FIRST_NAMES", "LOWER", "UPPER", "NameGazetteer", "find_person_spans",
           "load_gazetteer", "plausible_name"]

def _split(words: str) -> list[str]:
    return words.split()


_FILES = {"first": ("dist.male.first", "dist.female.first"), "last": ("dist.all.last",)}

#: Census first names that are more often ordinary words, titles or places than names.
AMBIGUOUS_FIRST_NAMES = frozenset(_split("""
a al an and are art as at august autumn baby bill birdie blue bob bobby bonnie brain brook
buck buddy bunny candy carry cash chance charity chase cherry china chip christian clay cleo
cliff colt cookie coral crystal daisy dale dallas dawn deal delta denver destiny diamond dick
dixie doll dollie don dot dusty early earl else emerald era ernest ever faith fay fern forest
frank gale gay gem gene georgia gladys glen glory golden grace grant guy handsome hank happy
harmony hazel heath hope honey hung hunter ivy iris jack jade jay jersey jewel joy judge
june justice king lady lane lean lee les liberty lily long love lucky mack major man many
march marine mark marvel mason max may mercy miles millie minnie misty moon my ned nick norm
numbers ok olive pat patience pearl penny pink precious price prince queen rain ray reed
rich river robin rocky rod rose royal ruby rusty sandy season see sky so son soon spring
star sterling storm sue summer sun sunny sunday tiny trinity unity van velvet violet wade
ward will winter wood young
april jan oct sept dec mon tue wed thu fri sat
asia africa austin berlin boston brooklyn camden carolina charlotte chelsea cleveland
dakota florida houston india israel jordan kenya lincoln london madison memphis montana
mercedes nevada orlando paris phoenix savannah sydney tennessee troy tyler vienna virginia
washington york france america german angeles maryland hong burma stanford dell
princess duchess duke lord baron countess sultan pope bishop general colonel captain
"""))

#: Capitalised words that open sentences or headings rather than names.
_STOP = frozenset(_split("""
a about above after again against all also although am among an and another any are as at
be because been before being below between both but by can could dear did do does during
each either every few for from further had has have having he hello her here hers herself
hi him himself his how however i if in into is it its itself just let like maybe me more
most my myself neither no nor not now of off on once only or other our ours out over own
please same she should since so some such than thanks thank that the their theirs them then
there these they this those though through to too under unless unlike until up upon us very
was we were what when where whether which while who whom whose why will with within without
would yes yet you your yours yourself dr mr mrs ms mx prof sir madam miss
monday tuesday wednesday thursday friday saturday sunday january february march april may
june july august september october november december today tomorrow yesterday
new old north south east west northern southern eastern western central great upper lower
saint st mount lake river united royal national international
"""))

#: Words that make a capitalised run an organisation, a place or an address, not a person.
_NOT_PERSON = frozenset(_split("""
inc ltd llc llp plc corp corporation co company group holdings partners associates bank
university college school academy institute hospital clinic church ministry department
agency council committee foundation society association club team airlines airport hotel
restaurant cafe bar store shop market markets news times weekly daily journal magazine press
records studios pictures media network systems services solutions technologies software labs
street st avenue ave road rd boulevard blvd lane ln drive dr court ct way place pl square sq
terrace circle parkway highway hwy crescent close row trail route path alley plaza gardens
park bridge station county city town village state province district island islands beach
valley mountain mountains river lake ocean sea bay coast republic kingdom empire orchestra
band festival museum gallery library center centre theatre theater stadium arena hall
"""))



def _letters(case: Callable[[str], bool]) -> str:
    """A character class of the letters of one case in Latin, Greek and Cyrillic scripts
    (Python's `re` has no `\\p{Lu}`)."""
    chars = "".join(chr(c) for c in range(0x41, 0x530) if chr(c).isalpha() and case(chr(c)))
    return "[" + re.escape(chars) + "]"


#: One upper-case letter, one lower-case letter (Latin, Greek, Cyrillic).
UPPER, LOWER = _letters(str.isupper), _letters(str.islower)
_CAP = rf"(?:Mc|Mac)?{UPPER}{LOWER}+(?:['\u2019-](?:{UPPER}|{LOWER}){LOWER}+)?"
_PARTICLE = r"(?:van|von|de|da|del|della|der|den|di|du|la|le|dos|das|bin|ibn|ter|ten)"
_INITIAL = rf"{UPPER}\.?"
_GAP = r"[ \t]+"
#: A run of capitalised words, optionally with middle initials and name particles.
_RUN = re.compile(
    rf"(?<![\w.@/'\u2019-])"
    rf"(?P<run>{_CAP}(?:{_GAP}(?:{_INITIAL}{_GAP}|{_PARTICLE}{_GAP})?{_CAP}){{0,3}})"
    rf"(?![\w@/]|['\u2019-](?!s\b)\w)")  # a possessive 's ends the name
_INITIAL_SHAPE = re.compile(rf"^{_CAP}{_GAP}{_INITIAL}{_GAP}{_CAP}$")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"“(\[]|\n)[\s>*#?-]*$")
_LINE_ALONE = re.compile(r"(?:^|\n)[ \t>*#?|-]*$")
_LINE_END = re.compile(r"[ \t]*(?:\n|$)")

#: Words that end a name: what follows is a unit of an address, not a surname.
_TRAILING = frozenset({"apt", "apartment", "suite", "ste", "unit", "flat", "room", "box"})

#: A list of single capitalised words: "A, B, C and D".
_LIST = re.compile(rf"(?<![\w,] ){_CAP}(?:,[ \t]+{_CAP}){{1,12}},?[ \t]+(?:and|or|&)[ \t]+{_CAP}"
                   rf"|(?<![\w,] ){_CAP}(?:,[ \t]+{_CAP}){{2,12}}")
#: The same in lower case, as in a chat message: "they had 6: silvana, adam and brian".
_LOWER_LIST = re.compile(rf"(?<![\w,] )(?<![\w,]){LOWER}+(?:,[ \t]+{LOWER}+){{2,12}},?[ \t]+"
                         rf"(?:and|or|&)[ \t]+{LOWER}+(?![\w-])")
_HONORIFIC = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Madam|Herr|Frau|Mme|Mlle|Sr|Sra|Srta)\.?"
_NAME = rf"{_CAP}(?:{_GAP}(?:{_INITIAL}{_GAP})?{_CAP}){{0,2}}"
_WORD = r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)?"
#: (pattern, score): group `v` is the name.
_CUES: tuple[tuple[re.Pattern[str], float], ...] = (
    (re.compile(rf"\b{_HONORIFIC}{_GAP}(?P<v>{_NAME})"), 0.75),
    # "add Irenke Sörös as a beneficiary": a person added to an account.
    (re.compile(rf"\badd{_GAP}(?P<v>{_NAME}){_GAP}as{_GAP}(?:(?:a|an|the|my|our){_GAP})?"
                rf"(?:beneficiary|guardian|user|member|contact|owner|signatory|authori[sz]ed|"
                rf"joint|co-?signer|nominee|dependent|driver|admin)"), 0.7),
    (re.compile(
        rf"\b(?P<v>{_CAP}{_GAP}(?:{_INITIAL}{_GAP})?{_CAP})(?={_GAP}(?:was born|is born|"
        rf"lives|lived|works|worked|said|says|wrote|called|emailed|phoned|\(born|shouted|"
        rf"asked|replied|whispered|yelled|told|cried|answered|laughed|smiled|nodded|"
        rf",{_GAP}(?:born|aged|age)\b))"), 0.6),
)
# Phrases after which a capitalised name follows, matched on the lower-cased text (seven
# times faster than a case-insensitive pattern). Group `strong`: a name in any case follows.
# Dialogue: "said Gladys to Logan", "Enrico shouted at Gary".
_SPEECH = r"(?:said|asked|shouted|yelled|whispered|replied|cried)"
_DIALOGUE = re.compile(
    rf"\b{_SPEECH}(?:{_GAP}(?:at|to))?{_GAP}(?P<v>{_NAME})(?:{_GAP}(?:to|at){_GAP}"
    rf"(?P<w>{_NAME}))?|(?<![\w.-])(?P<s>{_CAP}(?:{_GAP}{_CAP})?)(?={_GAP}(?:{_SPEECH}|lives|lived|"
    rf"spent{_GAP}a|had{_GAP}given|was{_GAP}born)\b)"
    # Addressed by name at the start: "Warrane, can I please speak to your boss?"
    rf"|\A[ \t\"\u201c]*(?P<a>{_CAP}),{_GAP}(?:can|could|would|will|please|do|did|are|have)\b")
# A list of surnames that a cue or a plural verb says are people ("founders: Kónya, Becker
# and Vasquez", "Marrero and Murphy were ...").
_SURNAMES = rf"{_CAP}(?:,{_GAP}{_CAP}){{0,8}},?{_GAP}(?:and|&){_GAP}{_CAP}"
_PEOPLE_LIST = re.compile(
    rf"\b(?:founders|co-founders|partners|members|authors|owners|brothers|sisters|parents|"
    rf"children|kids|guests|speakers|winners)\W{{1,3}}(?P<v>{_SURNAMES})"
    rf"|(?<![\w,] )(?<![\w,])(?P<w>{_SURNAMES})(?={_GAP}(?:were|are|have|had)\b)")
# A name alone on the first line of a text, as in a signature, a resume or a quoted header.
_FIRST_LINE = re.compile(rf"\A[ \t>]*(?P<v>{_CAP}(?:{_GAP}{_CAP}){{1,2}})[ \t]*\n")
_PHRASES = re.compile(
    r"\b(?:(?P<strong>my name is|my name's|call me|i'm called|i am called|named (?:him|her)|"
    r"(?:full |first |last |maiden |sur)name(?: is|:))|my name:|name is|i'm|i am|this is|"
    r"named|(?:full |first |last |maiden |sur)?name(?:\?|:)|signed(?: by)?,?|regards,?|"
    r"sincerely,?|cheers,?|patient|customer|client|employee|contact(?: person)?:?|dear|hi|"
    r"hello|hey|thanks,?|thank you,?|user:|account holder:?|cardholder:?|holder:|says|said|"
    r"asks|asked|replied|explained|according to|was called|is called|starring|featuring|"
    r"(?:directed|written|authored|signed|sung|performed|painted|produced) by:?|"
    r"'s name|assistant to|follow up with|speak to|talk to)[ \t]+")
_NAME_AT = re.compile(_NAME)
_ANY_CASE_NAME_AT = re.compile(rf"{_WORD}(?:{_GAP}{_WORD}){{0,2}}")


@dataclass(frozen=True)
class NameGazetteer:
    """Known first names and surnames, lower-cased.

    Attributes:
        first: first names that count without a cue (ambiguous ones removed).
        last: surnames.
        lone: first names that count even on their own: those more frequent as a first
            name than as a surname (`Mary`, not `Clark` or `Williams`).
    """

    first: frozenset[str]
    last: frozenset[str]
    lone: frozenset[str] = frozenset()


def _read(path: Path) -> dict[str, float]:
    """Name -> frequency in percent (the census files: NAME FREQ CUMULATIVE RANK)."""
    out: dict[str, float] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 2:
                name = parts[0].lower()
                out[name] = max(out.get(name, 0.0), float(parts[1]))
    return out


@functools.cache
def load_gazetteer() -> NameGazetteer:
    """The census name lists from the installed `names` package (read once per process).

    Raises:
        ConfigError: the package is not installed.
    """
    spec = importlib.util.find_spec("names")
    if spec is None or spec.origin is None:
        raise ConfigError("person-name detection needs the census name lists of the `names` "
                          "package: pip install 'aios[security]' (or pip install names), or "
                          "build the PII detector with gazetteer=False")
    root = Path(spec.origin).parent
    freq: dict[str, dict[str, float]] = {}
    try:
        for kind, files in _FILES.items():
            freq[kind] = {}
            for name in files:
                for key, value in _read(root / name).items():
                    freq[kind][key] = max(freq[kind].get(key, 0.0), value)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the name lists in {root}: {exc}; reinstall `names`"
                          ) from exc
    first = frozenset(freq["first"]) - AMBIGUOUS_FIRST_NAMES - _STOP
    lone = frozenset(n for n in first if freq["first"][n] >= freq["last"].get(n, 0.0))
    return NameGazetteer(first, frozenset(freq["last"]) - _STOP - _NOT_PERSON, lone)


def _words(value: str) -> list[str]:
    return [w.lower().rstrip(".") for w in value.split()]


def plausible_name(value: str) -> bool:
    """False for a cue-found "name" that is an ordinary word, an organisation or a place."""
    words = _words(value)
    return bool(words) and words[0] not in _STOP and words[0] not in AMBIGUOUS_FIRST_NAMES \
        and not any(w in _NOT_PERSON for w in words)


def _strongly_cued(value: str) -> bool:
    """`plausible_name` for a strong cue (dialogue, a list of people): a word-like first
    name (`Will`, `Gladys`) counts."""
    words = _words(value)
    return bool(words) and words[0] not in _STOP and not any(w in _NOT_PERSON for w in words)


def _trim(text: str, start: int, end: int) -> int:
    """`end`, moved back over trailing words that cannot end a name ("... Yudina Apt")."""
    words = list(re.finditer(r"\S+", text[start:end]))
    while len(words) > 1 and words[-1].group(0).lower().rstrip(".") in _TRAILING:
        words.pop()
    return start + words[-1].end() if words else end


def _cued(text: str, gazetteer: NameGazetteer | None) -> Iterator[tuple[int, int, float]]:
    for match in _DIALOGUE.finditer(text):
        for group in ("v", "w", "s", "a"):
            value, start = match.group(group), match.start(group)
            if value and group == "s" and " " in value and _words(value)[0] in _STOP:
                # "Then Anna said": the opener is not part of the name
                cut = len(value) - len(value.split(None, 1)[1])
                value, start = value[cut:], start + cut
            if value and _strongly_cued(value):
                yield start, start + len(value), 0.7
    for match in _PEOPLE_LIST.finditer(text):
        group = "v" if match.group("v") else "w"
        base = match.start(group)
        for item in re.finditer(_CAP, match.group(group)):
            if _strongly_cued(item.group(0)):
                yield base + item.start(), base + item.end(), 0.72
    first = _FIRST_LINE.match(text)
    if first is not None and plausible_name(first.group("v")):
        yield first.start("v"), first.end("v"), 0.6
    for pattern, score in _CUES:
        for match in pattern.finditer(text):
            start, end = match.span("v")
            end = _trim(text, start, end)
            if plausible_name(text[start:end]):
                yield start, end, score
    lowered = text.lower()
    if len(lowered) != len(text):  # a few letters change length when lower-cased
        lowered = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
    for cue in _PHRASES.finditer(lowered):
        name = _NAME_AT.match(text, cue.end())
        if name is not None:
            start, end = name.span()
            end = _trim(text, start, end)
            plausible = _strongly_cued if cue.group("strong") else plausible_name
            if plausible(text[start:end]):
                yield start, end, 0.65
        elif (cue.group("strong") or (lowered == text and gazetteer is not None)) and (
                loose := _ANY_CASE_NAME_AT.match(text, cue.end())):
            # A strong cue takes a name in any case; in an all lower-case text ("follow up
            # with patricia desrosiers"), a weak one takes a known first name.
            if not cue.group("strong") and (gazetteer is None or loose.group(0).split()[0]
                                            not in gazetteer.first):
                continue
            # Keep the words up to the first ordinary one ("eva kleist but everyone ...").
            kept = 0
            for word in re.finditer(r"\S+", loose.group(0)):
                if word.group(0).lower() in _STOP or word.group(0).lower() in _NOT_PERSON:
                    break
                kept = word.end()
            if kept:
                yield loose.start(), loose.start() + kept, 0.65


#: Endings of surnames across Europe: -son, -sen, -dóttir, -vić, -ová, -ski, -ov, -eva,
#: -nen, -escu, -ström, -berg (not the -ic, -ine, -ason of English words: Athletic, Line).
_SURNAME_SHAPE = re.compile(
    r"(?:(?<![aeiou])s{1,2}on|s{1,2}en|d[oó]ttir|vi[cćč]|i[ćč]|ov[aá]|sk[iayý]|ck[iay]|[oe]v|"
    r"[oe]va|enko|nen|escu|str[öo]m|qvist|quist|berg|mann)$")


def _gazetteer_score(text: str, start: int, end: int, words: list[str], named: int,
                     gazetteer: NameGazetteer) -> float | None:
    first_known = words[0] in gazetteer.first
    last_known = words[-1] in gazetteer.last or words[-1] in gazetteer.first
    alone = bool(_LINE_ALONE.search(text[:start])) and bool(_LINE_END.match(text, end))
    if named >= 2 and first_known:
        return 0.85 if words[-1] in gazetteer.last else 0.75
    if (named == 2 and words[0] in AMBIGUOUS_FIRST_NAMES and words[-1] in gazetteer.last
            and not _SENTENCE_START.search(text[:start])):
        return 0.6  # "... with Grace Kelly": a word-like first name, then a surname
    if (named == 2 and _SURNAME_SHAPE.search(words[-1])
            and not _SENTENCE_START.search(text[:start])):
        return 0.6  # "... by Hedvig Arvidsson": a surname's European ending
    if 2 <= named <= 3 and alone and words[0] in gazetteer.last and last_known:
        return 0.65  # a name on a line of its own, as in a signature or an address block
    if named == 1 and words[0] in gazetteer.lone and len(words[0]) > 2:
        return 0.5  # a first name on its own ("Mary?", "Magnus spent a year")
    return None


def _listed(text: str, gazetteer: NameGazetteer) -> Iterator[tuple[int, int, float]]:
    """Every item of a list of single names ("Romi, Erik, Amy and Donald") when most of the
    items are known first names: the list says what the unknown ones are."""
    for match in _LIST.finditer(text):
        items = [(m.start(), m.end(), m.group(0)) for m in re.finditer(_CAP, match.group(0))]
        known = sum(1 for _, _, word in items if word.lower() in gazetteer.lone)
        if len(items) >= 3 and known * 2 > len(items):
            base = match.start()
            for a, b, word in items:
                if word.lower() not in _STOP:
                    yield base + a, base + b, 0.55
    for match in _LOWER_LIST.finditer(text) if text.count(",") >= 2 else ():
        items = [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"\w+", match.group(0))
                 if m.group(0) not in ("and", "or")]
        known = sum(1 for _, _, word in items if word in gazetteer.lone)
        # lower case says less than capitals: three in four must be known first names
        if len(items) >= 4 and known * 4 >= len(items) * 3:
            base = match.start()
            for a, b, word in items:
                if word not in _STOP:
                    yield base + a, base + b, 0.55


def _repeated(text: str, found: list[tuple[int, int, float]]) -> Iterator[
        tuple[int, int, float]]:
    """Later mentions of a part of a confidently found full name ("... Maciej Borkowski and
    starring Borkowski")."""
    parts = {word for a, b, score in found if score >= 0.65
             for word in re.findall(_CAP, text[a:b])
             if len(word) > 2 and word.lower() not in _STOP}
    taken = [(a, b) for a, b, _ in found]
    for word in parts:
        for match in re.finditer(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text):
            if not any(a <= match.start() < b for a, b in taken):
                yield match.start(), match.end(), 0.6


def find_person_spans(text: str, gazetteer: NameGazetteer | None) -> Iterator[
        tuple[int, int, float]]:
    """`(start, end, score)` of every name candidate: by cue, by shape, by gazetteer, by
    membership of a list of names, and by repetition of a name found with confidence.

    Args:
        text: the text.
        gazetteer: known names (None: cues and the middle-initial shape only).
    """
    found = list(_spans(text, gazetteer))
    yield from found
    if gazetteer is not None:
        yield from _listed(text, gazetteer)
    yield from _repeated(text, found)


def _spans(text: str, gazetteer: NameGazetteer | None) -> Iterator[tuple[int, int, float]]:
    yield from _cued(text, gazetteer)
    for match in _RUN.finditer(text):
        tokens = [(m.start(), m.end(), m.group(0))
                  for m in re.finditer(r"\S+", match.group("run"))]
        base = match.start("run")
        words = [t[2].lower().rstrip(".") for t in tokens]
        if any(w in _NOT_PERSON for w in words):
            continue
        # Drop a capitalised opener ("Unlike", "Thanks", "Why") that is not itself a name.
        while tokens and words[0] in _STOP:
            tokens, words = tokens[1:], words[1:]
        while len(tokens) > 1 and words[-1] in _TRAILING:
            tokens, words = tokens[:-1], words[:-1]
        if not tokens or words[0] in _TRAILING:
            continue
        start, end = base + tokens[0][0], base + tokens[-1][1]
        if len(tokens) == 1 and text[end:end + 2] in ("'s", "\u2019s"):
            continue  # "Alice's Adventures", "St. Patrick's": a lone possessive is a title
        named = sum(1 for t in tokens if re.fullmatch(_CAP, t[2]))
        if len(tokens) >= 3 and _INITIAL_SHAPE.match(text[start:end]):
            yield start, end, 0.75
        elif gazetteer is not None and named:
            score = _gazetteer_score(text, start, end, words, named, gazetteer)
            if score is not None:
                yield start, end, score
