"""The relation vocabulary: canonical relation names, their surface phrases, and equivalences.

One table serves three readers: the pattern extractor (which phrase between two entities means
which relation, and in which direction), the model extractor (mapping the free-text relation a
model returns onto a canonical name), and the gold matcher of the benchmark (which canonical
relations count as the same fact).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["RELATIONS", "RelationSpec", "canonical_relation", "equivalent", "relation_spec"]


@dataclass(frozen=True)
class RelationSpec:
    """One canonical relation.

    Attributes:
        name: the canonical name, `snake_case`.
        active: phrases meaning `subject name object` ("X founded Y" is `founded_by(Y, X)`,
            so `founded` is a passive phrase of `founded_by`: see `passive`).
        passive: phrases meaning `name(object, subject)`: the surface order is reversed.
        functional: a subject has at most one true object (a founding year, a birthplace);
            two different objects are a conflict.
        year_relation: the relation a trailing "in YEAR" adds about the relation's subject
            ("X was founded by Y in 1987": `founded_by` -> `founded_in(X, 1987)`).
    """

    name: str
    active: tuple[str, ...] = ()
    passive: tuple[str, ...] = ()
    functional: bool = False
    year_relation: str | None = None


RELATIONS: tuple[RelationSpec, ...] = (
    RelationSpec("founded_by", active=("was founded by", "was co-founded by", "founded by",
                                       "co-founded by", "was started by", "was set up by",
                                       "was established by"),
                 passive=("founded", "co-founded", "started", "set up", "established"),
                 year_relation="founded_in"),
    RelationSpec("founded_in", active=("was founded in", "founded in", "was established in",
                                       "was started in"), functional=True),
    RelationSpec("headquartered_in", active=("is headquartered in", "headquartered in",
                                             "is based in", "based in", "was based in",
                                             "headquartered on", "is headquartered on",
                                             "has its headquarters in"), functional=True),
    RelationSpec("located_in", active=("is located in", "located in", "lies in", "is in",
                                       "is a city in", "is a town in"), functional=True),
    RelationSpec("born_in", active=("was born in", "born in"), functional=True),
    RelationSpec("studied_at", active=("studied at", "graduated from", "was educated at",
                                       "trained at", "is a graduate of")),
    RelationSpec("developed", active=("developed", "created", "built", "wrote", "invented"),
                 passive=("was developed by", "developed by", "was created by", "created by",
                          "was built by", "was invented by", "was written by")),
    RelationSpec("designed", active=("designed", "co-designed"),
                 passive=("was designed by", "designed by")),
    RelationSpec("manufactures", active=("manufactures", "makes", "produces", "produced"),
                 passive=("was manufactured by", "manufactured by", "was made by", "made by",
                          "was produced by", "produced by")),
    RelationSpec("acquired", active=("acquired", "bought", "took over", "purchased"),
                 passive=("was acquired by", "acquired by", "was bought by", "bought by")),
    RelationSpec("released_in", active=("was released in", "released in", "launched in",
                                        "was launched in", "shipped in"), functional=True),
    RelationSpec("ceo_of", active=("is the chief executive of", "was the chief executive of",
                                   "has been the chief executive of",
                                   "became the chief executive of", "chief executive of",
                                   "is the ceo of", "ceo of", "leads", "is the president of"),
                 passive=("is led by", "led by")),
    RelationSpec("subsidiary_of", active=("is a subsidiary of", "subsidiary of",
                                          "is owned by", "is a division of")),
    RelationSpec("partnered_with", active=("partnered with", "is a partner of",
                                           "collaborated with", "renewed its partnership with")),
    RelationSpec("works_for", active=("worked at", "works at", "worked for", "works for",
                                      "is an engineer at", "joined", "joining",
                                      "is employed by", "stayed at")),
    RelationSpec("uses", active=("uses", "runs", "is built on"), passive=("is used by",
                                                                          "used by")),
    RelationSpec("runs_on", active=("runs on", "was ported to")),
    RelationSpec("maintains", active=("maintains",),
                 passive=("is maintained by", "maintained by")),
    RelationSpec("mentor_of", active=("was the mentor of", "is the mentor of", "mentor of",
                                      "mentored", "taught")),
    RelationSpec("supplier_of", active=("is the main supplier of", "is a supplier of",
                                        "supplier of", "supplies")),
    RelationSpec("capital_of", active=("is the capital of", "capital of")),
    RelationSpec("mayor_of", active=("is the mayor of", "was the mayor of", "mayor of")),
    RelationSpec("succeeded", active=("succeeded", "replaced")),
    RelationSpec("held_in", active=("is held in", "held in", "takes place in"),
                 functional=True),
    RelationSpec("plays_at", active=("plays at", "plays its home games at")),
    RelationSpec("is_a", active=("is a", "is an", "was a", "was an")),
)

#: Canonical relations that count as the same fact when matching (symmetric groups).
_EQUIVALENT: tuple[frozenset[str], ...] = (
    frozenset({"headquartered_in", "located_in"}),
    frozenset({"developed", "manufactures"}),
)

_BY_NAME = {spec.name: spec for spec in RELATIONS}
_AUX = re.compile(r"^(?:(?:it|he|she|they|has|have|had|been|being|also|later|then|now|"
                  r"still|originally|first)\s+)+")


def _norm(text: str) -> str:
    text = text.lower().replace("_", " ").replace("-", " ").strip(" ,.;:")
    return re.sub(r"\s+", " ", text)


# Surface phrase (normalised) -> (canonical name, reversed?). Built once from the table.
_PHRASES: dict[str, tuple[str, bool]] = {}
for _spec in RELATIONS:
    _PHRASES.setdefault(_norm(_spec.name), (_spec.name, False))
    for _phrase in _spec.active:
        _PHRASES.setdefault(_norm(_phrase), (_spec.name, False))
    for _phrase in _spec.passive:
        _PHRASES.setdefault(_norm(_phrase), (_spec.name, True))
_PHRASES.update({"founded by": ("founded_by", False), "developed by": ("developed", True),
                 "located in": ("located_in", False)})


def relation_spec(name: str) -> RelationSpec | None:
    """The spec of canonical relation `name`, or None for a free-text relation."""
    return _BY_NAME.get(name)


def canonical_relation(text: str) -> tuple[str, bool] | None:
    """Map a surface relation ("was founded by", "Founded_By", "created") to its canonical form.

    Returns:
        `(name, reversed)`: `reversed` is True when the surface form states the relation from
        the object's side ("X was developed by Y" is `developed(Y, X)`); None when the phrase
        is not in the vocabulary.
    """
    phrase = _norm(text)
    for candidate in (phrase, _AUX.sub("", phrase)):
        if candidate in _PHRASES:
            return _PHRASES[candidate]
    return None


def equivalent(a: str, b: str) -> bool:
    """True when relations `a` and `b` state the same fact (equal, or in one synonym group)."""
    if a == b:
        return True
    return any(a in group and b in group for group in _EQUIVALENT)
