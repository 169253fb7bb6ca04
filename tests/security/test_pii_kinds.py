"""PII kinds added for issue 19 (places, organisations, dates, driver's licences), their
selection in a manifest check, and the exact span boundaries: hand-written examples only."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from aios.errors import ConfigError
from aios.security.detectors import PII_TYPES, PiiDetector
from aios.security.detectors.pii import DEFAULT_PII_TYPES
from aios.security.guardrails import Guardrails
from aios.security.policy import GuardrailPolicy


@pytest.fixture(scope="module")
def every_kind() -> PiiDetector:
    return PiiDetector(types=PII_TYPES)


@pytest.fixture(scope="module")
def default() -> PiiDetector:
    return PiiDetector()


def _spans(detector: PiiDetector, text: str, kind: str) -> list[str]:
    return [f.text for f in detector.detect(text) if f.type == kind]


# Bad input first: an unknown kind names the field and the known kinds.
@pytest.mark.parametrize(("guardrails", "field"), [
    ({"pii_types": ["EMAIL_ADDRESS", "PASSPORT"]}, r"pii_types"),  # the field the user wrote
    ({"checks": {"pii": {"types": ["LOCATION"]}}}, r"checks\.pii\.types"),
    ({"checks": {"pii": {"params": {"types": ["LOCATION"]}}}}, r"checks\.pii\.params\.types"),
    ({"agents": {"mail": {"checks": {"pii": {"types": ["ORG"]}}}}},
     r"agents\.mail\.checks\.pii\.types"),
])
def test_an_unknown_pii_kind_fails_validation_naming_the_field_and_the_kinds(
        guardrails: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=rf"{field}(: |\n.*)unknown (PII )?type") as error:
        GuardrailPolicy.model_validate(guardrails)
    assert "GPE" in str(error.value) and "US_DRIVER_LICENSE" in str(error.value)


def test_an_unknown_kind_given_to_the_detector_itself_lists_the_kinds() -> None:
    with pytest.raises(ConfigError, match=r"unknown PII type.*'ZIP'.*known: .*ORGANIZATION"):
        PiiDetector(types=["ZIP"])


def test_places_and_organisations_are_off_by_default_and_dates_are_on(default) -> None:
    assert {"GPE", "ORGANIZATION"} & set(DEFAULT_PII_TYPES) == set()
    assert {"DATE_TIME", "US_DRIVER_LICENSE"} <= set(DEFAULT_PII_TYPES)
    text = "She joined Acme Holdings in Toronto; born on 13/04/1978."
    assert [(f.type, f.text) for f in default.detect(text)] == [("DATE_TIME", "13/04/1978")]


def test_a_check_naming_a_kind_turns_its_detection_on() -> None:
    policy = GuardrailPolicy.model_validate({"pii_types": ["GPE", "EMAIL_ADDRESS"]})
    guards = Guardrails(policy=policy)
    out = guards.sanitize("I moved to Toronto, write to ana@example.org",
                          policy.for_agent(None), subject="s", stage="output")
    assert "Toronto" not in out and "ana@example.org" not in out


@pytest.mark.parametrize(("text", "value"), [
    ("I grew up in Toronto and moved on.", "Toronto"),              # gazetteer and cue
    ("We flew from Lisbon to Oslo.", "Lisbon"),                     # gazetteer, weak cue
    ("I am in Kvitfjellby for a business trip", "Kvitfjellby"),     # cue, unknown town
    ("the plant in Czech Republic closed", "Czech Republic"),       # a country
])
def test_places(every_kind, text, value) -> None:
    assert value in _spans(every_kind, text, "GPE")


@pytest.mark.parametrize("text", [
    "Since then, it grew.", "Can I pay by card?", "Florence sent the minutes.",
])
def test_ordinary_words_and_names_are_not_places(every_kind, text) -> None:
    assert _spans(every_kind, text, "GPE") == []


@pytest.mark.parametrize(("text", "value"), [
    ("She works at Brightwave Analytics as a clerk.", "Brightwave Analytics"),
    ("The Nordlys Insurance office is at the harbour.", "Nordlys Insurance"),
    ("Signed for Shepherd Ltd. yesterday", "Shepherd Ltd."),        # abbreviation keeps "."
    ("We hired Loveland Technologies.", "Loveland Technologies"),   # a full stop does not
    ("a year at Weeks-Rivas as an intern", "Weeks-Rivas"),          # two surnames, hyphen
    ("Counsel: Clark, Romero and Vance", "Clark, Romero and Vance"),  # law-firm shape
    ("She studied at University of Tartu.", "University of Tartu"),
])
def test_organisations(every_kind, text, value) -> None:
    assert value in _spans(every_kind, text, "ORGANIZATION")


def test_the_leading_article_is_not_part_of_an_organisation(every_kind) -> None:
    assert _spans(every_kind, "The Clean Power Finance office is at 4 Main Street",
                  "ORGANIZATION") == ["Clean Power Finance"]


@pytest.mark.parametrize(("text", "value"), [
    ("Date: 1978-04-13 12:20:39", "1978-04-13 12:20:39"),
    ("DOB 13/04/1978, blood type A", "13/04/1978"),
    ("born on April 13, 1978 in a small town", "April 13, 1978"),
    ("on 3rd of May 2001 we met", "3rd of May 2001"),
])
def test_calendar_dates(text, value) -> None:
    assert value in _spans(PiiDetector(dates="calendar"), text, "DATE_TIME")


def test_a_birth_date_scores_higher_than_another_date() -> None:
    scores = {f.text: f.score for f in PiiDetector(dates="calendar").detect(
        "Invoice of 02/03/2020. Date of birth: 13/04/1978.") if f.type == "DATE_TIME"}
    assert scores["13/04/1978"] > scores["02/03/2020"]


def test_an_unknown_date_mode_names_the_modes() -> None:
    with pytest.raises(ConfigError, match=r"unknown PII date mode 'some'; known: birth, "
                                          r"calendar, all"):
        PiiDetector(dates="some")


def test_an_unknown_date_mode_in_a_manifest_fails_when_the_guardrails_are_built() -> None:
    policy = GuardrailPolicy.model_validate({"checks": {"pii": {"params": {"dates": "x"}}}})
    with pytest.raises(ConfigError, match=r"checks\.pii\.params.*date mode 'x'"):
        Guardrails(policy=policy)


def test_by_default_only_a_date_of_birth_is_a_date(default) -> None:
    text = "Log 2024-05-01 10:30 - the meeting of 02/03/2020 moved. DOB: 13/04/1978."
    assert _spans(default, text, "DATE_TIME") == ["13/04/1978"]
    calendar = PiiDetector(dates="calendar")
    assert _spans(calendar, text, "DATE_TIME") == ["2024-05-01 10:30", "02/03/2020",
                                                   "13/04/1978"]


def test_bare_years_and_weekdays_only_when_asked(default) -> None:
    text = "The 2024 budget is due on Monday."
    assert _spans(default, text, "DATE_TIME") == []
    assert _spans(PiiDetector(dates="calendar"), text, "DATE_TIME") == []
    every = PiiDetector(dates="all")
    assert _spans(every, text, "DATE_TIME") == ["2024", "Monday"]
    assert _spans(every, "It costs $2024 or 2024% more", "DATE_TIME") == []


@pytest.mark.parametrize(("text", "value"), [
    ("my driver's license number is 2270-66-1551", "2270-66-1551"),
    ("Driving licence: F162823540116.", "F162823540116"),
])
def test_driver_licences(default, text, value) -> None:
    assert _spans(default, text, "US_DRIVER_LICENSE") == [value]


def test_a_driver_licence_needs_a_digit(default) -> None:
    assert _spans(default, "my driver's license is EXPIRED", "US_DRIVER_LICENSE") == []


# Names in dialogue and lists.
@pytest.mark.parametrize(("text", "values"), [
    ('Enrico shouted at Gary: "Stop!"', ["Enrico", "Gary"]),
    ("\"I'm late!\" said Gladys to Logan", ["Gladys", "Logan"]),
    ("our founders: Kónya, Becker and Vasquez.", ["Kónya", "Becker", "Vasquez"]),
    ("Marrero and Murphy were engineers.", ["Marrero", "Murphy"]),
    ("Dreux Joly\nPaxata\nPSC 3294", ["Dreux Joly"]),
])
def test_names_in_dialogue_lists_and_first_lines(default, text, values) -> None:
    assert _spans(default, text, "PERSON") == values


# Exact boundaries of addresses.
@pytest.mark.parametrize(("text", "value"), [
    # the town and country lines under a unit, without a postcode
    ("Meet me at 5100 Quadra 104\n Suite 845\n Evionnaz\n Switzerland",
     "5100 Quadra 104\n Suite 845\n Evionnaz\n Switzerland"),
    # town and country after a unit on the same line; the sentence's full stop is not in it
    ("Validate this: 51709 Spinatsch 94 Apt. 615 Moosleerau Switzerland.",
     "51709 Spinatsch 94 Apt. 615 Moosleerau Switzerland"),
    # comma-separated town and country, up to the end of the sentence
    ("a taxi to 692 Kuuse 53 Apt. 641, Grubbenvorst, Netherlands 04020. Please call",
     "692 Kuuse 53 Apt. 641, Grubbenvorst, Netherlands 04020"),
    # a leading building number before a number-first street; the unit line is not the street
    ("arrived at 636 1812 Rue De La Gare\n Apt. 271\n St Felicien\n Canada 36523 last night",
     "636 1812 Rue De La Gare\n Apt. 271\n St Felicien\n Canada 36523"),
    # the cue's connecting words are not part of the address
    ("please update the address to the same: 462 Stubengraben 80 Apt. 608",
     "462 Stubengraben 80 Apt. 608"),
    ("it is the corner of Dalbraut 99 and Frederikke Coves",
     "the corner of Dalbraut 99 and Frederikke Coves"),
    # an abbreviation's full stop stays
    ("The office is at Király u. 15.", "Király u. 15."),
])
def test_address_boundaries(default, text, value) -> None:
    assert _spans(default, text, "STREET_ADDRESS") == [value]


@pytest.mark.parametrize(("text", "value"), [
    ("Desk: +41 (0)96 471 07 95", "+41 (0)96 471 07 95"),  # the cue does not eat the "+"
    ("Phone: (99) 645-791", "(99) 645-791"),                # nor the "("
    ("Phone:\n467 3395", "467 3395"),                       # a short local number below its label
    ("Can someone call me on 450 0840?", "450 0840"),
    ("781 1704 office\n(579)888-3058 fax", "781 1704"),     # labelled after the number
])
def test_phone_boundaries_and_short_local_numbers(default, text, value) -> None:
    assert value == _spans(default, text, "PHONE_NUMBER")[0]


def test_a_lower_case_iban_is_found_and_still_checksummed(default) -> None:
    assert _spans(default, "iban: de89 3704 0044 0532 0130 00", "IBAN_CODE") == [
        "de89 3704 0044 0532 0130 00"]
    assert _spans(default, "iban: de89 3704 0044 0532 0130 01", "IBAN_CODE") == []


def test_a_licence_number_with_a_letter_is_not_a_card(default) -> None:
    # U + 14 digits that happen to pass Luhn: the letter says it is not a card number.
    assert [(f.type, f.text) for f in default.detect(
        "My driver's license number is U62928788557186")] == [
        ("US_DRIVER_LICENSE", "U62928788557186")]


@pytest.mark.parametrize(("text", "value"), [
    ("a tour serving Southern Austria", "Austria"),        # a country that is also a surname
    ("We moved here from Tjæreborg", "Tjæreborg"),          # cue, unknown town
    ("the band's home city Vrbovec: a song", "Vrbovec"),
])
def test_countries_and_cued_towns(every_kind, text, value) -> None:
    assert _spans(every_kind, text, "GPE") == [value]


@pytest.mark.parametrize(("text", "value"), [
    ("The address of Nordvik is 12 Quadra 104 Apt. 3", "Nordvik"),  # the address cue's subject
    ("Dreux Joly\nPaxata\nPSC 3294, Box 9168", "Paxata"),            # letterhead line
    ("I work for 48 Factoring Inc", "48 Factoring Inc"),             # a leading number
])
def test_organisations_in_address_sentences_and_letterheads(every_kind, text, value) -> None:
    assert _spans(every_kind, text, "ORGANIZATION") == [value]


def test_the_address_cue_subject_is_not_part_of_the_address(default) -> None:
    assert _spans(default, "The address of Nordvik is 12 Quadra 104 Apt. 3",
                  "STREET_ADDRESS") == ["12 Quadra 104 Apt. 3"]


@pytest.mark.parametrize(("text", "value"), [
    ("It may be that McDowell was influenced", None),            # a Mc name is one word...
    ("arranged and sung by Adam McDowell in 1977", "Adam McDowell"),  # ...not "Adam Mc"
    ("Warrane, can I please speak to your boss?", "Warrane"),    # addressed by name
    ("Timotea lives on Via dei Fiorentini 17.", "Timotea"),      # one word before "lives"
    ("She named him Frank", "Frank"),
    ("It's under my partner's name Matthías Traustason", "Matthías Traustason"),
    ("Follow up with Matheus Araujo next month.", "Matheus Araujo"),
])
def test_more_name_cues(default, text, value) -> None:
    found = _spans(default, text, "PERSON")
    assert found == ([value] if value else [])


@pytest.mark.parametrize("text", [
    "Yes, can you send it?", "Please, do not reply.", "It lives on the stack.",
    "Construction began in May.",
])
def test_name_cues_do_not_take_ordinary_words(default, text) -> None:
    assert _spans(default, text, "PERSON") == []


@pytest.mark.parametrize("text", [
    "Mission Statement: we help.",                   # a town's name opening a heading
    "the verses from Alice Goldberg's tales",        # a town's name as a first name
])
def test_a_place_name_before_other_capitalised_words_is_not_a_place(every_kind, text) -> None:
    assert _spans(every_kind, text, "GPE") == []
