"""The response cache: exact and semantic hits, isolation, guard, bounds, persistence."""

from __future__ import annotations

import pytest

from aios.embeddings import EmbeddingService
from aios.llm.types import LLMRequest, LLMResponse, Message, ModelInfo, ToolCall, Usage
from aios.routing import CacheConfig, NamespacePolicy, ResponseCache, bucket_key, exact_key
from aios.store import Store

SYSTEM = "You are a Linux administrator."

NEGATION_PAIRS = [
    ("turn on the firewall", "turn off the firewall"),
    ("How do I enable the firewall?", "How do I disable the firewall?"),
    ("Allow inbound traffic on port 22", "Deny inbound traffic on port 22"),
    ("Start the nginx service", "Stop the nginx service"),
    ("Open port 443 on the server", "Close port 443 on the server"),
    ("Add the user to the docker group", "Remove the user from the docker group"),
    ("Increase the connection timeout", "Decrease the connection timeout"),
    ("Run the backup before the upgrade", "Run the backup after the upgrade"),
    ("Is the firewall enabled?", "Is the firewall not enabled?"),
    ("Open port 80", "Open port 8080"),
    ("Restart the Postgres server", "Restart the MySQL server"),
]

#: One word replaced by a non-synonym, or a request added: similar embeddings (0.68-0.92),
#: different questions.
CHANGED_REQUESTS = [
    ("how to start a docker container", "how to restart a docker container"),
    ("how to delete a git branch", "how to rename a git branch"),
    ("what's the weather in Paris today", "what's the weather in Paris tomorrow"),
    ("show me the largest files in this directory", "show me the newest files in this directory"),
    ("write a function to reverse a list in Python", "write a function to sort a list in Python"),
    ("Restart the Postgres server", "Restart the Postgres server and clear its logs"),
    ("Write a function that returns the sum of the even numbers in a list",
     "Write a function that returns the sum of the odd numbers in a list"),
    ("How do I kill a process on port 8080?", "How do I find the process on port 8080?"),
]


class Clock:
    """A settable clock."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def ask(prompt: str, **kwargs: object) -> LLMRequest:
    kwargs.setdefault("system", SYSTEM)
    kwargs.setdefault("tenant", "acme")
    return LLMRequest.of(prompt, **kwargs)  # type: ignore[arg-type]


def answer(text: str, cost: float = 0.002) -> LLMResponse:
    return LLMResponse(text, "small", "openai", usage=Usage(10, 5), cost_usd=cost)


@pytest.fixture
def cache(embedder: EmbeddingService) -> ResponseCache:
    return ResponseCache(None, embedder)


async def test_exact_hit_returns_the_stored_answer_marked_cached(cache: ResponseCache,
                                                                 model: ModelInfo) -> None:
    request = ask("How much disk space is free?", temperature=0.7)
    assert await cache.get(request, model) is None
    await cache.put(request, model, answer("12 GB"))
    hit = await cache.get(request, model)
    assert hit is not None and hit.text == "12 GB" and hit.cached
    stats = cache.stats()
    assert (stats.exact_hits, stats.semantic_hits, stats.misses) == (1, 0, 1)
    assert stats.saved_usd == pytest.approx(0.002)


async def test_semantic_hit_for_a_true_paraphrase(cache: ResponseCache,
                                                  model: ModelInfo) -> None:
    await cache.put(ask("How do I list all running docker containers?"), model,
                    answer("docker ps"))
    hit = await cache.get(ask("How can I list every running docker container?"), model)
    assert hit is not None and hit.text == "docker ps"
    assert cache.stats().semantic_hits == 1


@pytest.mark.parametrize(("stored", "asked"), NEGATION_PAIRS)
async def test_negations_antonyms_numbers_and_names_never_hit(
        cache: ResponseCache, model: ModelInfo, stored: str, asked: str) -> None:
    await cache.put(ask(stored), model, answer("stored answer"))
    assert await cache.get(ask(asked), model) is None
    assert await cache.get(ask(stored), model) is not None  # the stored one still hits


@pytest.mark.parametrize(("stored", "asked"), CHANGED_REQUESTS)
async def test_a_replaced_word_or_an_added_request_never_hits(
        cache: ResponseCache, model: ModelInfo, stored: str, asked: str) -> None:
    await cache.put(ask(stored), model, answer("stored answer"))
    assert await cache.get(ask(asked), model) is None
    assert await cache.get(ask(stored), model) is not None


@pytest.mark.parametrize(("stored", "asked"), [
    ("how to delete a git branch", "how to remove a git branch"),
    ("how do I create a new branch in git", "how do I make a new branch in git"),
    ("How do I undo the last commit in git?", "How can I revert my most recent git commit?"),
])
async def test_a_synonym_or_a_rewording_hits(cache: ResponseCache, model: ModelInfo,
                                             stored: str, asked: str) -> None:
    await cache.put(ask(stored), model, answer("stored answer"))
    hit = await cache.get(ask(asked), model)
    assert hit is not None and hit.text == "stored answer"


async def test_candidates_explain_a_miss_without_counting_it(cache: ResponseCache,
                                                             model: ModelInfo) -> None:
    await cache.put(ask("turn on the firewall"), model, answer("ufw enable"))
    await cache.put(ask("How do I list all running docker containers?"), model,
                    answer("docker ps"))
    found = cache.candidates(ask("turn off the firewall"), model)
    assert found[0].prompt == "turn on the firewall"
    assert found[0].cosine > 0.9 and found[0].match.reason == "opposites differ (on/off)"
    assert found[0].answer.text == "ufw enable" and found[0].answer.cached
    near = cache.candidates(ask("How can I list every running docker container?"), model)
    assert near[0].match.reason is None and near[0].match.score >= 0.9
    stats = cache.stats()
    assert (stats.semantic_hits, stats.misses, stats.refused) == (0, 0, 0)


async def test_a_refused_nearest_candidate_falls_through_to_the_next(
        cache: ResponseCache, model: ModelInfo) -> None:
    await cache.put(ask("Open port 80 on the web server"), model, answer("port 80"))
    await cache.put(ask("Open port 8080 on the web server"), model, answer("port 8080"))
    asked = ask("Please open port 8080 on the web server")
    found = cache.candidates(asked, model)
    assert [c.match.reason is None for c in found] == [c.prompt.find("8080") > 0
                                                       for c in found]
    hit = await cache.get(asked, model)
    assert hit is not None and hit.text == "port 8080"


async def test_negation_pair_is_similar_enough_that_only_the_guard_stops_it(
        embedder: EmbeddingService, model: ModelInfo) -> None:
    # With the guard out of the picture (threshold reached), similarity alone would hit.
    assert embedder.similarity("turn on the firewall", "turn off the firewall") > 0.9
    cache = ResponseCache(None, embedder)
    await cache.put(ask("turn on the firewall"), model, answer("ufw enable"))
    assert await cache.get(ask("turn off the firewall"), model) is None
    assert cache.stats().refused == 1


@pytest.mark.parametrize("change", [
    {"system": "You are a pirate."},
    {"tools": ({"type": "function", "function": {"name": "df", "parameters": {}}},)},
    {"tenant": "globex"},
    {"user": "bob"},
    {"temperature": 0.0, "max_tokens": 20},
    {"seed": 7},
    {"stop": ("\n",)},
    {"response_format": {"type": "object"}},
])
async def test_a_different_prefix_tool_set_namespace_or_params_never_hits(
        cache: ResponseCache, model: ModelInfo, change: dict[str, object]) -> None:
    prompt = "How much memory does this host have?"
    await cache.put(ask(prompt), model, answer("16 GB"))
    assert await cache.get(ask(prompt, **change), model) is None  # not even exactly
    assert await cache.get(ask("How much memory does the host have?", **change),
                           model) is None


async def test_a_different_conversation_prefix_never_hits(cache: ResponseCache,
                                                          model: ModelInfo) -> None:
    def convo(first: str, last: str) -> LLMRequest:
        return LLMRequest(messages=(Message("system", SYSTEM), Message("user", first),
                                    Message("assistant", "ok"), Message("user", last)))

    await cache.put(convo("We are on host alpha.", "How much disk is free?"), model,
                    answer("alpha: 3 GB"))
    assert await cache.get(convo("We are on host beta.", "How much disk is free?"),
                           model) is None
    assert await cache.get(convo("We are on host alpha.", "How much disk is free?"),
                           model) is not None


async def test_a_different_model_never_hits(cache: ResponseCache, model: ModelInfo) -> None:
    other = ModelInfo("big", "openai", "gpt-big", tier="complex")
    await cache.put(ask("What is the load average?"), model, answer("0.5"))
    assert await cache.get(ask("What is the load average?"), other) is None


def test_the_exact_key_ignores_who_asks_and_covers_what_changes_the_output(
        model: ModelInfo) -> None:
    base = ask("hello")
    assert exact_key(base, model) == exact_key(ask("hello", tenant="x", user="y",
                                                   run_id="r", action="a"), model)
    for change in ({"temperature": 0.5}, {"top_p": 0.9}, {"seed": 1}, {"max_tokens": 9},
                   {"stop": ("x",)}, {"system": "other"}):
        assert exact_key(ask("hello", **change), model) != exact_key(base, model)
    with_call = LLMRequest(messages=(Message("user", "hi"), Message(
        "assistant", "", tool_calls=(ToolCall("1", "df", "{}"),)), Message("user", "next")))
    without = LLMRequest(messages=(Message("user", "hi"), Message("assistant", ""),
                                   Message("user", "next")))
    assert exact_key(with_call, model) != exact_key(without, model)
    assert bucket_key(ask("a"), model) == bucket_key(ask("b"), model)
    assert bucket_key(LLMRequest(messages=(Message("system", "s"),)), model) is None


async def test_sampled_requests_skip_semantic_unless_the_namespace_allows(
        embedder: EmbeddingService, model: ModelInfo) -> None:
    config = CacheConfig(namespaces={"creative": NamespacePolicy(sampled=True)})
    cache = ResponseCache(None, embedder, config)
    for tenant in ("acme", "creative"):
        await cache.put(ask("How do I list all running docker containers?", tenant=tenant,
                            temperature=0.8), model, answer("docker ps"))
    paraphrase = "How can I list every running docker container?"
    assert await cache.get(ask(paraphrase, tenant="acme", temperature=0.8), model) is None
    assert await cache.get(ask(paraphrase, tenant="creative", temperature=0.8),
                           model) is not None


async def test_semantic_threshold_is_per_namespace(embedder: EmbeddingService,
                                                   model: ModelInfo) -> None:
    config = CacheConfig(namespaces={"strict": NamespacePolicy(threshold=0.999)})
    cache = ResponseCache(None, embedder, config)
    for tenant in ("acme", "strict"):
        await cache.put(ask("How do I list all running docker containers?", tenant=tenant),
                        model, answer("docker ps"))
    paraphrase = "How can I list every running docker container?"
    assert await cache.get(ask(paraphrase, tenant="acme"), model) is not None
    assert await cache.get(ask(paraphrase, tenant="strict"), model) is None


async def test_entries_expire_after_their_ttl(embedder: EmbeddingService,
                                              model: ModelInfo) -> None:
    clock = Clock()
    cache = ResponseCache(None, embedder, CacheConfig(ttl_s=60), clock=clock)
    await cache.put(ask("What is the uptime?"), model, answer("3 days"))
    clock.now += 59
    assert await cache.get(ask("What is the uptime?"), model) is not None
    clock.now += 2
    assert await cache.get(ask("What is the uptime?"), model) is None
    assert await cache.get(ask("What's the uptime?"), model) is None
    assert cache.stats().expirations == 1 and cache.stats().entries == 0


async def test_size_bound_evicts_the_least_recently_used(embedder: EmbeddingService,
                                                         model: ModelInfo) -> None:
    cache = ResponseCache(None, embedder, CacheConfig(max_entries=2))
    prompts = ["What is the hostname?", "What is the kernel version?", "How many CPUs?"]
    await cache.put(ask(prompts[0]), model, answer("a"))
    await cache.put(ask(prompts[1]), model, answer("b"))
    assert await cache.get(ask(prompts[0]), model) is not None  # 0 is now the most recent
    await cache.put(ask(prompts[2]), model, answer("c"))
    assert await cache.get(ask(prompts[1]), model) is None
    assert await cache.get(ask(prompts[0]), model) is not None
    assert await cache.get(ask(prompts[2]), model) is not None
    assert cache.stats().evictions == 1 and cache.stats().entries == 2


async def test_empty_answers_and_opt_outs_are_not_cached(cache: ResponseCache,
                                                         model: ModelInfo) -> None:
    await cache.put(ask("q1"), model, answer(""))
    await cache.put(ask("q2", cache=False), model, answer("x"))
    assert cache.stats().entries == 0


async def test_entries_survive_a_restart_on_the_same_store(
        store: Store, embedder: EmbeddingService, model: ModelInfo) -> None:
    clock = Clock()
    first = ResponseCache(store, embedder, CacheConfig(ttl_s=3600), clock=clock)
    response = LLMResponse("docker ps", "small", "openai", usage=Usage(12, 3),
                           tool_calls=(ToolCall("c1", "shell", '{"cmd": "docker ps"}'),),
                           finish_reason="stop", cost_usd=0.004)
    await first.put(ask("How do I list all running docker containers?"), model, response)
    await first.put(ask("What is the uptime?", temperature=0.9), model, answer("3 days"))
    await first.put(ask("Old question?"), model, answer("old"))
    second = ResponseCache(store, embedder, CacheConfig(ttl_s=3600), clock=clock)
    assert await second.load() == 3
    exact = await second.get(ask("How do I list all running docker containers?"), model)
    assert exact is not None and exact.tool_calls == response.tool_calls
    assert exact.usage == response.usage and exact.cost_usd == 0.004 and exact.cached
    paraphrase = await second.get(ask("How can I list every running docker container?"),
                                  model)
    assert paraphrase is not None and paraphrase.text == "docker ps"
    assert await second.get(ask("What is the uptime?", temperature=0.9), model) is not None
    # Expired rows are not loaded (and are deleted), other namespaces stay apart.
    clock.now += 7200
    third = ResponseCache(store, embedder, clock=clock)
    assert await third.load() == 0
    await third.put(ask("Fresh?", tenant="globex"), model, answer("yes"))
    assert await third.clear("acme/-") == 0
    assert await ResponseCache(store, embedder, clock=clock).load() == 1


async def test_evicted_entries_are_deleted_from_the_store(
        store: Store, embedder: EmbeddingService, model: ModelInfo) -> None:
    cache = ResponseCache(store, embedder, CacheConfig(max_entries=1))
    await cache.put(ask("What is the hostname?"), model, answer("a"))
    await cache.put(ask("What is the kernel version?"), model, answer("b"))
    again = ResponseCache(store, embedder, CacheConfig(max_entries=10))
    assert await again.load() == 1
    assert await again.get(ask("What is the kernel version?"), model) is not None


async def test_a_cache_without_embeddings_still_serves_exact_hits(model: ModelInfo) -> None:
    cache = ResponseCache()
    await cache.put(ask("What is the hostname?"), model, answer("alpha"))
    assert await cache.get(ask("What is the hostname?"), model) is not None
    assert await cache.get(ask("What's the hostname?"), model) is None


def test_bad_bounds_are_refused() -> None:
    from aios.errors import ConfigError

    with pytest.raises(ConfigError, match="max_entries"):
        ResponseCache(config=CacheConfig(max_entries=0))
