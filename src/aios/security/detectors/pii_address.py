"""Street addresses: the written shapes of a street line, and what follows it.

No checksum here either; the rules describe how addresses are written:

- house number, street name, street type: `742 Evergreen Terrace`, `12 W. 3rd St`, with an
  optional second leading number (building or postcode) and unit (`Apt. 4B`, `Suite 200`);
- street name carrying its type, then the number, as most of Europe writes it:
  `Friedhofstrasse 33`, `Koskikatu 25`, `Erzsébet tér 19`, `Rue de Virton 38`,
  `Via delle Coste 41`, `ul. Narewska 94`;
- US military addresses: `PSC 3294, Box 9168, APO AA 61487`;
- a unit on its own (`Apt. 805`, `Suite 377`), at a lower score;
- after a cue (`lives at`, `address:`, `ship to`), any short chunk with a number in it.

A street line found by a shape is extended over the lines right below it that look like the
rest of an address (a unit, `City, ST 12345`, `Country 12345`), so the whole block is masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from aios.security.detectors.pii_names import UPPER

__all__ = ["UNIT", "find_address_spans", "resolve_addresses"]

_W = rf"{UPPER}[\w'\u2019.-]*"  # a capitalised word
_NUM = r"\d{1,6}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?"
_DIRECTION = r"(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?"
_ORDINAL = r"\d{1,3}(?:st|nd|rd|th)"
_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Av|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|"
    r"Pl|Square|Sq|Terrace|Ter|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Crescent|Cres|Close|Row|"
    r"Trail|Trl|Route|Rte|Path|Alley|Plaza|Gardens|Gdns|Heights|Hts|Mews|Walk|Crossing|Xing|"
    r"Expressway|Expy|Freeway|Fwy|Pike|Loop|Ridge|Grove|Gr|Green|Hill|Park|View|Vale|Wharf|"
    r"Quay|Esplanade|Promenade|Broadway|Turnpike|Tpke|Causeway|Bypass|Flats|Estate|Str)\b\.?")
_UNIT_WORD = r"(?i:apt|apartment|suite|ste|unit|flat)\b"
_UNIT = (r"(?i:(?:Apt|Apartment|Suite|Ste|Unit|Flat|Fl|Floor|Room|Rm|Bldg|Building|Box)\b\.?"
         r"|#)\s*#?\s*(?=[\w-]{0,5}\d)[\w-]{1,6}(?![\w-])")
#: A unit: `Apt. 4B`, `Suite 200`, `# 12`.
UNIT = _UNIT
#: Street types, the USPS list (plurals too), for a second street name after the first
#: ("14 Crown Street Kishiev Squares", "Tungata 11 Rott Crossroad").
_SECOND_TYPE = (
    r"(?:Alley|Avenue|Branch|Bridge|Brooks?|Burgs?|Bypass|Camp|Canyon|Cape|Causeway|Centers?|"
    r"Circles?|Cliffs?|Club|Common|Corners?|Course|Courts?|Coves?|Creek|Crescent|Crest|"
    r"Crossing|Crossroad|Curve|Dale|Dam|Divide|Drives?|Estates?|Expressway|Extensions?|Falls?|"
    r"Ferry|Fields?|Flats?|Fords?|Forest|Forges?|Forks?|Fort|Freeway|Gardens?|Gateway|Glens?|"
    r"Greens?|Groves?|Harbors?|Haven|Heights|Highway|Hills?|Hollow|Inlet|Islands?|Isle|"
    r"Junctions?|Keys?|Knolls?|Lakes?|Land|Landing|Lane|Lights?|Loaf|Locks?|Lodge|Loop|Mall|"
    r"Manors?|Meadows?|Mews|Mills?|Mission|Motorway|Mount|Mountains?|Neck|Orchard|Oval|"
    r"Overpass|Parks?|Parkways?|Pass|Passage|Path|Pike|Pines?|Place|Plains?|Plaza|Points?|"
    r"Ports?|Prairie|Radial|Ramp|Ranch|Rapids?|Rest|Ridges?|River|Roads?|Route|Row|Run|"
    r"Shoals?|Shores?|Skyway|Springs?|Spurs?|Squares?|Station|Stravenue|Stream|Streets?|"
    r"Summit|Terrace|Throughway|Trace|Track|Trafficway|Trail|Tunnel|Turnpike|Underpass|"
    r"Unions?|Valleys?|Viaduct|Views?|Villages?|Ville|Vista|Walks?|Wall|Ways?|Wells?)")
_US_LINE = (rf"(?:\d{{1,6}}\s+)?{_NUM}\s+(?:{_DIRECTION}\s+)?(?:(?:{_W}|{_ORDINAL})\s+){{1,4}}"
            rf"{_SUFFIX}(?:\s+{_DIRECTION}(?![\w]))?(?:,?\s+{_UNIT})*")

# Street types written as (the end of) the street's name, before the number.
_TYPE_WORD = (
    r"(?i:stra(?:ss|ß)e|str\.|weg|gasse|platz|allee|damm|ufer|chaussee|steig|vej|gade|"
    r"veien|vegen|vei|gata|gatan|vägen|väg|gränd|katu|tie|kuja|polku|laan|straat|steeg|"
    r"plein|gracht|kade|singel|utca|út|útja|tér|köz|ulica|ulice|iela|gatve|cesta|trg|"
    r"sokak|sokağ\u0131|caddesi|bulvar\u0131|vegur|\s+u\.|\s+Str\.)")
_EU_SUFFIXED = rf"(?:\d{{1,6}}\s+)?(?:{_W}\s+){{0,2}}\w*{_TYPE_WORD}\.?\s+{_NUM}\.?"
# Capitalised only where the word is also English (Place, Plaza, Avenue); in any case where
# it is not (rue, calle, ul.).
_EU_PREFIX = (
    r"(?:Rue|Via|Viale|Vicolo|Piazza|Piazzale|Piazzetta|Corso|Largo|Calle|C/|Carrer|Camino|"
    r"Avenue|Rúa|"
    r"Carretera|Avenida|Avda\.|Av\.?|Rua|Travessa|Praça|Plaza|Paseo|Chemin|Boulevard|Bd\.?|"
    r"Allée|Place|Quai|Impasse|Ulica|Aleja|Al\.|Pl\.|Οδός|Οδ\.|Πλατεία|Λεωφόρος|Λεωφ\.|"
    r"(?i:rue|calle|rua|travessa|chemin|allée|impasse|carrer|avenida|avda\.|piazza|piazzale|"
    r"piazzetta|vicolo|viale|ulica|aleja|ul\.))")
_EU_PREFIXED = (rf"(?:\d{{1,6}}\s+)?{_EU_PREFIX}\s+(?:[\w'\u2019.-]+\s+){{0,4}}?{_NUM}"
                rf"(?![\w-])")
# French, Spanish, Italian, Portuguese order: number first ("12 rue de la Paix").
# Street types that are also English words (Place, Plaza, Route) count here only capitalised.
_NUMBER_FIRST_TYPE = (r"(?:Rue|Avenue|Av\.|Boulevard|Bd\.?|Allée|Chemin|Impasse|Quai|Place|"
                      r"Calle|Avenida|Avda\.|Carrer|Via|Viale|Vicolo|Corso|Piazza|Rua|Travessa|"
                      r"(?i:rue|calle|rua|chemin|allée|impasse|quai|carrer|avenida|travessa|"
                      r"piazza|viale|vicolo|corso))")
_EU_NUMBER_FIRST = (rf"(?:\d{{1,6}}\s+)?\d{{1,5}}(?:\s?(?:bis|ter|[A-Za-z]))?,?\s+"
                    rf"{_NUMBER_FIRST_TYPE}(?:[ \t]+(?!{_UNIT_WORD})[\w'\u2019-]+){{1,5}}")
_MILITARY = (r"(?:(?:PSC|CMR|Unit)\s+\d{3,5},?\s+Box\s+\d{1,5}|(?:USNS|USNV|USS|USCGC)[^\S\n]+"
             rf"{_W}(?:[^\S\n]+{_W})?)(?:,?\s*\n?\s*(?:APO|FPO|DPO)\s+A[AEP]\s+\d{{5}})?")
_PO_BOX = r"(?:P\.?\s?O\.?\s*Box|Post\s?box|Postfach|Apartado|Casella postale)\s+\d{1,6}"
# A street line without a street type ("4596 Tylova 285", "Buerlia 227"): an address only
# when it has a number on both sides of the name, or a unit line right below it.
_MONTH_WORD = r"(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s"
_BARE_NUMBERED = rf"\d{{1,6}}\s+(?!{_MONTH_WORD})(?:{_W}\s+){{1,3}}{_NUM}(?=[ \t]*(?:\n|,|$))"
_SECOND = rf"[ \t]+(?:{_W}[ \t]+){{1,2}}{_SECOND_TYPE}(?![\w-])"
_BARE_ABOVE_UNIT = (rf"(?:\d{{1,6}}[ \t]+)?(?:{_W}[ \t]+){{1,3}}{_NUM}(?:{_SECOND})?"
                    rf"(?=[ \t]*\n[ \t>?*|-]*{_UNIT})")
# Or a unit right after it on the same line ("5100 Quadra 104 Suite 845").
_BARE_BEFORE_UNIT = (rf"\d{{1,6}}[ \t]+(?:{_W}[ \t]+){{1,3}}{_NUM}\.?(?:,?[ \t]+{_UNIT})+"
                     # or a number-first street without a type ("94941 2505 Heatherleigh
                     # Suite 620")
                     rf"|(?:\d{{1,6}}[ \t]+)?\d{{1,6}}[ \t]+{_W}(?:[ \t]+{_W}){{0,2}}"
                     rf"(?:,?[ \t]+{_UNIT})+")
# Mid-sentence, a street line without a type, with a postcode on the line below
# ("5638 Aasa 43\nHumilimont, nan 78618").
_BARE_ABOVE_POSTCODE = (rf"\d{{1,6}}[ \t]+(?:{_W}[ \t]+){{1,3}}{_NUM}"
                        rf"(?=[ \t]*\n[^\n\d]{{0,40}}\d{{4,6}}[ \t]*(?:\n|$))")
# "the corner of Dalbraut 99 and Frederikke Coves": the whole phrase is the address.
_CORNER = (rf"\b[Tt]he[ \t]+corner[ \t]+of[ \t]+(?=[^\n]{{0,40}}\d)(?:[\w'\u2019.-]+[ \t]+){{1,6}}?"
           rf"and[ \t]+(?:(?:[\w'\u2019.-]+[ \t]+){{1,3}}(?i:{_SECOND_TYPE})(?![\w-])|"
           rf"{_W}(?:[ \t]+{_W}){{0,3}})")

#: (pattern, score): the value is the whole match.
_SHAPES: tuple[tuple[re.Pattern[str], float], ...] = (
    (re.compile(_CORNER), 0.85),
    (re.compile(rf"(?<![\w.,-])(?:{_BARE_BEFORE_UNIT}|\d{{1,6}}[ \t]+{_BARE_ABOVE_UNIT})"),
     0.75),
    (re.compile(rf"(?<![\w.,-]){_US_LINE}"), 0.85),
    (re.compile(rf"(?<![\w.,-]){_BARE_ABOVE_POSTCODE}"), 0.75),
    (re.compile(rf"(?<![\w.,-])(?:{_EU_SUFFIXED}|{_EU_PREFIXED}|{_EU_NUMBER_FIRST})"
                rf"(?:,?\s+{_UNIT})*"), 0.75),
    (re.compile(rf"(?<![\w.-]){_MILITARY}", re.IGNORECASE), 0.8),
    (re.compile(rf"(?<![\w.-]){_PO_BOX}(?:,?\s+{_UNIT})*", re.IGNORECASE), 0.75),
    (re.compile(rf"(?m:(?<=^)|(?<=^[ \t>?*|-])|(?<=^[ \t>?*|-]{{2}})|(?<=^[ \t>?*|-]{{3}})|"
                rf"(?<=^[ \t>?*|-]{{4}}))(?:{_BARE_NUMBERED}|{_BARE_ABOVE_UNIT})"), 0.75),
    (re.compile(r"(?<![\w.-])(?:Apt|Apartment|Suite|Ste)\.?\s*#?\s*\d{1,5}[A-Z]?(?![\w-])",
                re.IGNORECASE), 0.5),
)
_CUE = re.compile(
    r"(?i:\b(?:lives?|living|resides?|residing|located|based|situated|stay(?:s|ing)?)\s+at|"
    r"\baddress(?:\s+is)?\s*:?|\bship(?:ped|ping)?\s+(?:it\s+)?to|"
    r"\bdeliver(?:ed|y)?\s+(?:it\s+)?to|"
    r"\b(?:send|mail|post)\s+(?:it\s+|them\s+)?to|\bdrops?\s+(?:you\s+)?off\s+at|"
    r"\bmoved\s+to|\bcorner\s+of)\s+"
    r"(?P<v>(?=[^\n.;!?]{0,30}\d)[\w#][^\n;!?]{3,80}?)(?=\s*(?:[;!?\n]|\.(?:\s|$)|$))")
# The rest of an address block, one line each: a unit, `City, ST 12345`, `Country 12345`.
# A word of a town's name: an abbreviation keeps its full stop ("St. Georges"), a whole
# word does not ("... Poland. It serves ...").
_PW = rf"{UPPER}(?:\w{{0,2}}\.|[\w'\u2019-]*)"
_PLACE_WORDS = (rf"{_PW}(?:[ \t]+(?:{_PW}|\([^()\n]{{1,30}}\)|(?:de|del|la|le|du|na|nad|pod|am|"
                rf"upon|on|sur)\b))*")
_STATE = r"(?:[A-Z]{1,3}|nan)"
_TAIL_LINE = re.compile(
    rf"[ \t]*\n[ \t>?*|-]*(?:{_UNIT}|{_PLACE_WORDS}(?:,?[ \t]*{_STATE})?"
    rf"(?:[ \t]+\d{{4,6}}(?:-\d{{4}})?)?|,?[ \t]*{_STATE}(?:[ \t]+\d{{4,6}})?|,[ \t]*\d{{1,3}}|"
    rf"\d{{4,6}})"
    r"[ \t]*(?=\n|$|[?.!,;][ \t]*(?:\s|$)|[a-z])")
_SAME_LINE_TAIL = re.compile(
    rf",?[ \t]+(?:{_W}[ \t]+){{0,2}}{_W},?[ \t]+[A-Z]{{2}}[ \t]+\d{{5}}(?:-\d{{4}})?(?![\w-])")
# After a unit: the town and country, capitalised, on the same line ("Apt. 615 Moosleerau
# Switzerland"); up to lower-case text or punctuation.
_AFTER_UNIT = re.compile(rf"[ \t]+{_PLACE_WORDS}(?:[ \t]+nan)?(?:[ \t]+\d{{4,6}})?"
                         rf"(?=[ \t]*(?:[.?!;\n]|$)|[ \t]+[a-z])")
_ENDS_WITH_UNIT = re.compile(rf"{_UNIT}$")
_SECOND_NAME = re.compile(_SECOND)
_SAME_LINE_UNITS = re.compile(rf"(?:,?[ \t]+{_UNIT})+")
# "Maarit and Hersnapvej 75": a street named after a crossing street is one address.
_AND_BEFORE = re.compile(rf"(?<![\w'\u2019-]){UPPER}[\w'\u2019-]*[ \t]+and[ \t]+$")
# "137 Avenue Teboulbi St.", "74678 midtvollen 130 st.": a street type after a street that
# is already whole (a number after its name, or a type before it) is not part of it.
_STRAY_TYPE = re.compile(
    r"(?:\d\.?|\b(?i:avenue|road|boulevard|drive)|"
    r"(?i:^(?:\d{1,6}[ \t]+)+(?:avenue|rue|rua|via|calle|ul\.)[ \t].*))"
    r"(?P<t>[ \t]+(?i:st|street)\.?)$")
# Comma-separated town, region, country ("..., Grubbenvorst, Netherlands 04020").
# Lower-case words inside a town's name ("Chomutice u Horic v Podkrkonoší").
_TOWN_LINK = r"(?:u|v|na|nad|pod|de|del|la|di|am|im|sur|upon)"
_COMMA_PART = r"[^\W\d_][\w'\u2019().-]*"
_COMMA_TAIL = re.compile(
    rf"(?:,[ \t]*{_COMMA_PART}(?:[ \t]+(?:{_W}|\([^()\n]{{1,30}}\)|{_TOWN_LINK}[ \t]+{_W}))*"
    rf"(?:[ \t]+\d{{4,6}})?){{1,3}}"
    rf"(?=[ \t]*(?:[.?!;\n]|$)|[ \t]+[a-z])")


_DIGIT = re.compile(r"\d")
_ENDS_WITH_POSTCODE = re.compile(r"(?<![\w-])\d{4,6}(?:-\d{4})?$")
_LEAD = re.compile(r"(?:[^\n:\d]{0,24}:[ \t]*|(?:of|for)[ \t]+[^\n\d]{1,40}?[ \t]+is[ \t]+|"
                   r"(?:(?:to|is|it is|with|at|on|the following\??)[ \t]+)+)")
_POSTAL = re.compile(
    rf"{_UNIT}|\d{{4,6}}|(?<![\w])[A-Z]{{2}}(?![\w])|^[\W]*{UPPER}{{3,}}[\W]*$")


def _extend(text: str, end: int) -> int:
    """The end of the address block that starts with a street line ending at `end`.

    Lines below count while they look like the rest of an address, up to the last one that
    has a postal mark (a unit, a postcode, a state code, a city in capitals): a plain
    capitalised line alone may as well be the next paragraph's name.
    """
    second = _SECOND_NAME.match(text, end)
    if second is not None:
        end = second.end()
        unit_here = _SAME_LINE_UNITS.match(text, end)
        if unit_here is not None:
            end = unit_here.end()
    tail = _SAME_LINE_TAIL.match(text, end)
    if tail is None and _ENDS_WITH_UNIT.search(text, max(0, end - 16), end):
        tail = _AFTER_UNIT.match(text, end)
    if tail is None:
        tail = _COMMA_TAIL.match(text, end)
    if tail is not None:
        end = tail.end()
    pos = end
    # below a unit line, the town and country lines count without a postcode
    unit = _ENDS_WITH_UNIT.search(text, max(0, end - 16), end) is not None
    for _ in range(4):
        line = _TAIL_LINE.match(text, pos)
        if line is None or len(line.group(0).strip()) > 40:
            break
        pos = line.end()
        value = line.group(0).strip()
        if unit or _POSTAL.search(value):
            end = pos
        if _ENDS_WITH_POSTCODE.search(value):
            break  # the postcode closes the block
        unit = unit or re.match(_UNIT, value) is not None
    return end


_SENTENCE_STOP = re.compile(r"(?:[^\W\d_]{4,}|(?<![\w.])[A-Z]{2,3})\.$")


def _trim(text: str, end: int) -> int:
    """`end` without a full stop that ends the sentence, not an abbreviation (`Cyprus.`, not
    `St.`, `u.` or the `15.` of a Hungarian house number)."""
    while end > 0 and text[end - 1] in " \t":
        end -= 1
    return end - 1 if _SENTENCE_STOP.search(text, max(0, end - 8), end) else end


def _unstray(text: str, start: int, end: int) -> int:
    """`end` before a stray street type (`_STRAY_TYPE`)."""
    stray = _STRAY_TYPE.search(text[start:end])  # sliced: the pattern anchors at `^`
    return start + stray.start("t") if stray is not None else end


def find_address_spans(text: str) -> Iterator[tuple[int, int, float]]:
    """`(start, end, score)` of every street address shape in `text`."""
    if _DIGIT.search(text) is None:  # every shape has a number: skip the scans
        return
    for pattern, score in _SHAPES:
        for match in pattern.finditer(text):
            end = match.end()
            while end > match.start() and text[end - 1] in " ,\t":
                end -= 1
            start = match.start()
            end = _unstray(text, start, end)
            if not text[start].isdigit():
                crossing = _AND_BEFORE.search(text, max(0, start - 30), start)
                if crossing is not None:
                    start = crossing.start()
            yield start, _trim(text, _extend(text, end) if score >= 0.75 else end), score
    for match in _CUE.finditer(text):
        # "address to the same: 462 ...", "address with 27534 ...": the value starts after
        # the connecting words.
        start = match.start("v")
        lead = _LEAD.match(text, start, match.end("v"))
        if lead is not None:
            start = lead.end()
        end = _unstray(text, start, match.end("v"))
        if start < end:
            yield start, _trim(text, _extend(text, end)), 0.6


def resolve_addresses(spans: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """Overlapping candidates resolved: of the shapes (score 0.75 and up) the longest wins,
    as the shapes find parts of one block (`91211 Koepenicker Str.` inside `91211
    Koepenicker Str. 74 Suite 980 ...`); a cue's or a lone unit's span only where no shape
    is."""
    ranked = sorted(spans, key=lambda s: (s[2] < 0.75, s[0] - s[1], -s[2], s[0]))
    kept: list[tuple[int, int, float]] = []
    for span in ranked:
        if not any(span[0] < k[1] and k[0] < span[1] for k in kept):
            kept.append(span)
    return sorted(kept)
