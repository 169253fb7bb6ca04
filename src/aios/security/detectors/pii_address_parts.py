"""An address block in pieces: the street, the building number, the unit, the postcode as
street-address parts, and the town, region and country as places.

Data sets label a written address two ways: whole (one span from the house number to the
postcode), or as its parts, with the town and the country as places. Which one a text gets
follows its layout, and the PII detector follows the more common labelling per layout
(measured on the development part of the Presidio synthetic set):

- a block laid out on lines of its own, at the start of the text or right under a person's
  name (an envelope; not under a label such as `Address:` or a company's name), starting
  with a building number before a numbered street (`28030 Edeby 55\\n Apt. 297\\n TYSTBERGA\\n
  Sweden 99178`), is in pieces;
- in running text, a building number and a street without a unit or a line break
  (`17151 2450 Crown St`, `450 Præstevænget 15, København V`) is in pieces;
- everything else (`742 Evergreen Terrace`, a block in a sentence with a unit or lines below
  it, a military or corner address) is whole.

Pieces are only worth it when places are reported: without them the whole block is one
street address, so nothing in it goes unmasked.
"""

from __future__ import annotations

import re

from aios.security.detectors.pii_address import UNIT
from aios.security.detectors.pii_names import LOWER, UPPER, plausible_name

__all__ = ["address_pieces"]

_LEAD = re.compile(r"\d{1,6}[ \t]+(?=[^\n]*\d)")
_NAME_WORD = rf"{UPPER}{LOWER}+(?:-{UPPER}{LOWER}+)?"
_NAME_LINE = re.compile(rf"{_NAME_WORD}(?:[ \t]+(?:{UPPER}\.?[ \t]+)?{_NAME_WORD}){{1,2}}")
# A house number in the street (`Edeby 55`, `2450 Crown St`), not an ordinal (`5th Street`).
_HOUSE_NUMBER = re.compile(r"(?<![\w])\d{1,6}[A-Za-z]?\.?(?![\w])")
_LINE_START = re.compile(r"(?:^|\n)[ \t>]*$")
_UNIT_AT = re.compile(rf"(?<![\w-]){UNIT}")
_POSTCODE_END = re.compile(r"(?:^|[ \t]+)(\d{4,6}(?:-\d{4})?)$")
_PART = re.compile(r"[^\n,]+")


def _named_above(text: str, start: int, names: list[tuple[int, int]]) -> bool:
    """Whether the block starting at `start` opens the text or the nearest line above it
    that has words ends with a person's name."""
    above = text[:start].rstrip(" \t>\n")
    if not above:
        return True
    if any(b == len(above) for _, b in names):
        return True
    # A line that has the shape of a name, found or not (`Gyala Antall`), and nothing of a
    # company (`Rand Corporation`, `Amazon Web Services`).
    line = above[above.rfind("\n") + 1:].strip(" \t>")
    return _NAME_LINE.fullmatch(line) is not None and plausible_name(line)


def _street(value: str, lead: int) -> str:
    """The street of a block whose building number ends at `lead`: up to the first unit,
    comma or line break."""
    line = value[lead:].split("\n", 1)[0]
    unit = _UNIT_AT.search(line)
    cut = unit.start() if unit is not None else len(line)
    comma = line.find(",")
    return line[:comma if 0 <= comma < cut else cut].rstrip(" ,")


def _in_pieces(text: str, start: int, value: str, names: list[tuple[int, int]]) -> bool:
    """Whether the block `text[start:start+len(value)]` is labelled in pieces (see above)."""
    lead = _LEAD.match(value)
    if lead is None or _HOUSE_NUMBER.search(_street(value, lead.end())) is None:
        return False
    multi_line = "\n" in value
    if _LINE_START.search(text, max(0, start - 12), start) is not None:
        return _named_above(text, start, names) and (multi_line or "," not in value)
    return not multi_line and _UNIT_AT.search(value) is None


def _places(base: int, part: str) -> list[tuple[int, int, str]]:
    """The pieces of one comma- or line-separated part after the street: a unit, a postcode
    (street address), and place words."""
    out: list[tuple[int, int, str]] = []
    stripped = part.strip(" \t>")
    if not stripped:
        return out
    offset = base + part.index(stripped)
    unit = _UNIT_AT.match(stripped)
    if unit is not None:
        out.append((offset, offset + unit.end(), "STREET_ADDRESS"))
        stripped_rest = stripped[unit.end():]
        lead = len(stripped_rest) - len(stripped_rest.lstrip())
        return out + _places(offset + unit.end() + lead, stripped_rest.lstrip()) \
            if stripped_rest.strip() else out
    postcode = _POSTCODE_END.search(stripped)
    words = stripped
    if postcode is not None:
        out.append((offset + postcode.start(1), offset + postcode.end(1), "STREET_ADDRESS"))
        words = stripped[:postcode.start()].rstrip()
    if words and not words.isdigit():
        out.insert(0, (offset, offset + len(words), "GPE"))
    elif words.isdigit():
        out.insert(0, (offset, offset + len(words), "STREET_ADDRESS"))
    return out


def address_pieces(text: str, start: int, end: int, names: list[tuple[int, int]]
                   ) -> list[tuple[int, int, str]] | None:
    """`(start, end, kind)` of the pieces of the address block `text[start:end]`, or None
    when the block is labelled whole. `names`: the spans of the people named before it."""
    value = text[start:end]
    if not _in_pieces(text, start, value, names):
        return None
    lead = _LEAD.match(value)
    assert lead is not None
    number_end = start + len(lead.group(0).rstrip())
    pieces = [(start, number_end, "STREET_ADDRESS")]
    # The street runs up to the first unit or comma; units and comma parts follow.
    street = _street(value, lead.end())
    base = start + lead.end()
    pieces.append((base, base + len(street), "STREET_ADDRESS"))
    for part in _PART.finditer(value, lead.end() + len(street)):
        pieces += _places(start + part.start(), part.group(0))
    return pieces
