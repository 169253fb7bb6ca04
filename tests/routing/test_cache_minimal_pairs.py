"""Minimal pairs of agent commands: one word, unit, order or identifier changes the request,
and the cache must not serve one's answer for the other; true paraphrases must hit.

Written for Ai:oS (not taken from any dataset). Both directions are checked: the cached
prompt may be either side.
"""

from __future__ import annotations

import pytest

from aios.embeddings import EmbeddingService
from aios.llm.types import LLMRequest, LLMResponse, ModelInfo
from aios.routing import CacheConfig, ResponseCache

DIFFERENT = [
    # antonym verbs
    ("Upgrade the postgres package", "Downgrade the postgres package"),
    ("Enable the firewall on host web-1", "Disable the firewall on host web-1"),
    ("Start the nginx service", "Stop the nginx service"),
    ("Turn on debug logging", "Turn off debug logging"),
    ("Increase the memory limit of the api pod", "Decrease the memory limit of the api pod"),
    ("Allow inbound traffic on port 22", "Deny inbound traffic on port 22"),
    ("Grant alice read access to the bucket", "Revoke alice read access to the bucket"),
    ("Scale up the worker pool", "Scale down the worker pool"),
    # un- / in- / non- / dis- prefixes
    ("List the healthy pods", "List the unhealthy pods"),
    ("Show the available disks", "Show the unavailable disks"),
    ("Show the encrypted volumes", "Show the unencrypted volumes"),
    ("List the active users", "List the inactive users"),
    ("Count the blocking calls", "Count the non-blocking calls"),
    ("Mount the data volume", "Unmount the data volume"),
    ("Connect the replica to the primary", "Disconnect the replica from the primary"),
    ("Lock the admin account", "Unlock the admin account"),
    ("Install docker on the build server", "Uninstall docker on the build server"),
    # units and magnitudes
    ("Restart the worker in five minutes", "Restart the worker in five seconds"),
    ("Set the request timeout to 30 seconds", "Set the request timeout to 30 minutes"),
    ("Limit uploads to 5 MB", "Limit uploads to 5 GB"),
    ("Keep the logs for 7 days", "Keep the logs for 7 weeks"),
    ("Show errors from the last hour", "Show errors from the last day"),
    ("Scale the api deployment to 3 replicas", "Scale the api deployment to 30 replicas"),
    ("Retry the job 3 times", "Retry the job 5 times"),
    # argument order of directional verbs
    ("Copy alpha to beta", "Copy beta to alpha"),
    ("copy the config from staging to production", "copy the config from production to staging"),
    ("Move the backup from db1 to db2", "Move the backup from db2 to db1"),
    ("send the invoice from finance to legal", "send the invoice from legal to finance"),
    ("Convert the string to an integer", "Convert the integer to a string"),
    # identifiers: hosts, paths, ids, names
    ("Reboot host web-01", "Reboot host web-02"),
    ("Delete /var/log/app.log", "Delete /var/log/sys.log"),
    ("Cancel order 12345", "Cancel order 12346"),
    ("Show the logs of container 3f2a9c", "Show the logs of container 7b1d0e"),
    ("Ping 10.0.0.1", "Ping 10.0.0.2"),
    ("Send the report to Alice", "Send the report to Bob"),
    ("Check disk usage on db-primary", "Check disk usage on db-replica"),
    ("Deploy version 2.4.1 of the api", "Deploy version 2.5.0 of the api"),
    # one word of a short command replaced: another object, another verb
    ("Show disk usage", "Show memory usage"),
    ("Show the CPU usage of web-1", "Show the memory usage of web-1"),
    ("Restart the Postgres server", "Restart the MySQL server"),
    ("how to start a docker container", "how to restart a docker container"),
    ("List the open ports", "List the open files"),
    # negation
    ("Delete the files that are not backed up", "Delete the files that are backed up"),
]

SAME = [
    ("download a complete playlist from YouTube", "download an entire Youtube playlist"),
    ("How do I restart the nginx service?", "How can I restart the nginx service?"),
    ("How do I delete a git branch?", "How can I remove a git branch?"),
    ("check the free disk space", "check how much disk space is free"),
    ("How to convert a string to an integer in Python?",
     "How do I convert a string into an integer in Python?"),
    ("What is the capital of France?", "What's the capital city of France?"),
]

MODEL = ModelInfo("m", "openai", "m")


async def _served(embedder: EmbeddingService, cached: str, asked: str) -> bool:
    cache = ResponseCache(None, embedder, CacheConfig())
    await cache.put(LLMRequest.of(cached), MODEL, LLMResponse("answer", "m", "openai"))
    return cache.lookup_semantic(LLMRequest.of(asked), MODEL) is not None


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
async def test_a_change_of_meaning_is_never_served(embedder: EmbeddingService, a: str,
                                                   b: str) -> None:
    assert not await _served(embedder, a, b)
    assert not await _served(embedder, b, a)


@pytest.mark.parametrize(("a", "b"), SAME)
async def test_a_true_paraphrase_is_served(embedder: EmbeddingService, a: str, b: str) -> None:
    assert await _served(embedder, a, b)
    assert await _served(embedder, b, a)
