"""`Registry[T]`: one registry type for every extension point, and the registries built on it
keep their names and messages."""

from __future__ import annotations

import pytest

from aios.errors import ConfigError, NotFoundError
from aios.registry import Registry


def test_register_get_names_and_mapping_reads() -> None:
    shapes: Registry[type] = Registry("shape", name_attr="name")

    @shapes.register("square")
    class Square:
        name = ""

    shapes.add("circle", type("Circle", (), {}))
    assert shapes.get("square") is Square and Square.name == "square"
    assert shapes.names() == ["circle", "square"] == sorted(shapes)
    assert "square" in shapes and "oval" not in shapes and len(shapes) == 2
    assert shapes["circle"].name == "circle"  # type: ignore[attr-defined]


def test_an_unknown_name_lists_the_known_ones_and_suggests_the_closest() -> None:
    formats: Registry[str] = Registry("export format", known="use one of")
    formats.add("json", "j")
    formats.add("graphml", "g")
    with pytest.raises(ConfigError) as info:
        formats.get("jsn")
    assert str(info.value) == ("unknown export format 'jsn'; use one of: graphml, json; "
                               "did you mean 'json'?")
    with pytest.raises(ConfigError, match=r"'xyz'; use one of: graphml, json$"):
        formats.get("xyz")  # nothing close: no suggestion


def test_the_error_type_is_a_parameter() -> None:
    things: Registry[int] = Registry("thing", error=NotFoundError)
    with pytest.raises(NotFoundError, match="unknown thing 'a'; known: \\(none\\)"):
        things.get("a")


def test_replace_lets_the_last_registration_win() -> None:
    backends: Registry[str] = Registry("backend")
    backends.add("fast", "built-in")
    backends.add("fast", "user's")
    assert backends.get("fast") == "user's"


def test_error_refuses_another_holder_but_not_the_same_one_again() -> None:
    providers: Registry[object] = Registry("LLM provider", duplicates="error")

    def first() -> None: ...

    def second() -> None: ...

    providers.add("local", first)
    providers.add("local", first)  # a module imported twice registers the same object again
    with pytest.raises(ConfigError, match="LLM provider name 'local' is already registered by "
                                          r".*test_registry\..*first"):
        providers.add("local", second)
    assert providers.get("local") is first


def test_the_registries_built_on_it_keep_their_messages() -> None:
    from aios.evaluation.evaluators import build_evaluator
    from aios.llm.providers import provider_class
    from aios.routing.policies import create_policy
    from aios.runtime.executors import build_executor
    from aios.settings import Settings

    with pytest.raises(ConfigError, match=r"unknown LLM provider 'opena'; registered providers: "
                                          r".*openai.*; did you mean 'openai'"):
        provider_class("opena")
    with pytest.raises(ConfigError, match="AIOS_EXECUTOR to one of: local, ray"):
        build_executor("rya", Settings())
    with pytest.raises(ConfigError, match="unknown evaluator 'exact_mtch'; known: "):
        build_evaluator("exact_mtch")
    with pytest.raises(ConfigError, match="known policies: "):
        create_policy("cheapest")


def test_handlers_corpus_loaders_and_red_team_checks_suggest_the_closest_name(
        tmp_path) -> None:
    from aios.discovery.corpus import load_document
    from aios.runtime.handlers import HandlerRegistry
    from aios.security.redteam import load_catalog

    with pytest.raises(NotFoundError, match=r"unknown handler 'kernel.proceses'; built-ins \(or "
                                            r"name a `module:function`\): .*kernel\.processes.*"
                                            r"did you mean 'kernel.processes'"):
        HandlerRegistry.builtin().resolve("kernel.proceses")
    notes = tmp_path / "notes.mdx"
    notes.write_text("# notes\n")
    with pytest.raises(ConfigError, match=r"notes\.mdx: unknown file suffix '\.mdx'; the corpus "
                                          r"reads: .*\.txt; did you mean '\.md'"):
        load_document(notes, tmp_path)
    catalog = tmp_path / "c.yaml"
    catalog.write_text("family: x\nattacks:\n  - id: a1\n    severity: low\n    turns: [hi]\n"
                       "    check: {type: canery}\n")
    with pytest.raises(ConfigError, match=r"unknown check type 'canery'; known: action, "
                                          r"canary, .*; did you mean 'canary'"):
        load_catalog([catalog])
