"""OpenAI-compatible endpoint: the latency and throughput it adds in front of an upstream.

Starts the scripted OpenAI-format server (`tests/support/scripted_llm.py`, answering at once)
in its own process, and `aios serve` (Uvicorn, one process, temporary SQLite store) in
another, with one model `gpt-4o` on that upstream, the response cache off (every request
reaches the upstream) and the default guardrails on. Then, in this process, the same
chat-completion request is sent:

- directly to the upstream (one HTTP hop),
- to a bare forwarding proxy on the same stack (the baseline of "the HTTP hop": FastAPI under
  Uvicorn with `aios serve`'s settings, one route that forwards the request body with an
  `httpx.AsyncClient` to the upstream and returns its answer; no auth, no parsing), and
- to the endpoint (two hops: client -> Ai:oS -> upstream), with an Ai:oS API token, once
  with the key looked up in the store on every request (`AIOS_KEY_CACHE_SECONDS=0`) and
  once with the server's key cache (5 s, the default);

first one at a time (`--requests` each, keep-alive; p50 and p99 latency), the sides taking
turns request by request so that a change in the machine's load falls on all of them alike,
then with `--concurrency` requests in flight (`--requests` each, side after side; requests
per second). The "added"
column is endpoint minus direct: the gateway's work plus the second HTTP hop; "beyond the hop"
is endpoint minus bare proxy: what the gateway adds beyond forwarding (the issue's target:
p50 under 1 ms). The client, the endpoint and the upstream share the machine's cores, so the
figures are a floor.

With `--litellm PATH` (or `AIOS_BENCH_LITELLM=PATH`), the `litellm` command of a LiteLLM
install kept out of the project's virtualenv, LiteLLM's proxy is measured too, in the same run
and with the same client loop: `litellm --config <tmp yaml> --num_workers 1` (one Uvicorn
process) with one model `gpt-4o` = `openai/gpt-4o` on the same upstream, a random master key
(the proxy refuses to start without one; the client sends it, so LiteLLM checks a key in
memory) and no database (so no virtual keys, no spend tracking), no callbacks, telemetry off
and the local model cost map (nothing fetched at start). Without the option, or when the
proxy does not start, one line says it was not measured and why.

With `--baseline-src DIR` (say `/work/main/src`), one more `aios serve` (key cache 5 s) runs
the code in DIR instead of this tree's, in the same run and taking turns with the others: a
change's before and after under the same load. The table's last column is each server
process's CPU time per request during the one-at-a-time phase (all its threads: the ledger's
and the spans' writers too), steadier than latency on a busy machine.

Run: .venv/bin/python bench/openai_endpoint.py [--requests 300] [--concurrency 16]
     [--litellm /path/to/venv/bin/litellm] [--baseline-src /path/to/other/src]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from aios.auth import Role, TokenStore, UserStore
from aios.settings import Settings
from aios.store import Store

ROOT = Path(__file__).resolve().parent.parent
BARE = "bare proxy (the hop)"
BASELINE = "endpoint, --baseline-src"

UPSTREAM = """\
import sys, time
sys.path.insert(0, {root!r})
from tests.support import Reply, ScriptedLLMServer, scripted_llm
# http.server writes headers and body in separate sends: without TCP_NODELAY, Nagle and the
# client's delayed ACK add ~40 ms to every answer, on both sides alike.
scripted_llm._Handler.disable_nagle_algorithm = True
scripted_llm._Server.request_queue_size = 256  # 16 clients connecting at once: no resets
server = ScriptedLLMServer(Reply.ok("ok", usage=(12, 3))).start()
print(server.url, flush=True)
time.sleep(10**6)
"""

BARE_PROXY = """\
import sys
import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response

upstream, port = sys.argv[1], int(sys.argv[2])
app = FastAPI()
client = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=100))


@app.post("/v1/chat/completions")
async def forward(request: Request) -> Response:
    answer = await client.post(upstream + "/v1/chat/completions", content=await request.body(),
                               headers={{"content-type": "application/json",
                                        "authorization": "Bearer sk-bench"}})
    return Response(answer.content, status_code=answer.status_code,
                    media_type="application/json")


@app.get("/healthz")
async def healthz() -> dict[str, bool]:
    return {{"ok": True}}


uvicorn.run(app, host="127.0.0.1", port=port, proxy_headers=True, log_level="warning",
            timeout_graceful_shutdown=10)
"""

MANIFEST = """\
name: openai-endpoint-bench
models:
  gpt-4o: {{provider: openai, model: gpt-4o, base_url: "{upstream}/v1",
           api_key_env: BENCH_OPENAI_KEY}}
routing:
  cache: {{enabled: false}}
"""

LITELLM_CONFIG = """\
model_list:
  - model_name: gpt-4o
    litellm_params: {{model: openai/gpt-4o, api_base: "{upstream}/v1", api_key: sk-bench}}
litellm_settings: {{telemetry: false}}
"""

BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Say ok."}]}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _token(settings: Settings) -> str:
    store = await Store.open(settings.store_url())
    try:
        await UserStore(store).add("bench", Role.viewer)
        return (await TokenStore(store).issue("bench", expires_in=3600)).secret
    finally:
        await store.close()


def _cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) process `pid` has used; None without /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _sequential(sides: dict[str, tuple[str, dict[str, str]]], n: int,
                pids: dict[str, int]) -> tuple[dict[str, np.ndarray], dict[str, float | None]]:
    """Latencies in ms of `n` requests one at a time to each side, the sides taking turns;
    and the CPU ms per request of each side's server process (`pids`; None when unknown)."""
    out = {name: np.empty(n) for name in sides}
    clients = {name: httpx.Client(timeout=30) for name in sides}
    cpu: dict[str, float | None] = {name: None for name in sides}
    try:
        for name, (url, headers) in sides.items():
            for _ in range(20):  # warm-up: connections, lazy imports, first-call caches
                clients[name].post(url, json=BODY, headers=headers).raise_for_status()
        before = {name: _cpu_s(pid) for name, pid in pids.items()}
        for i in range(n):
            for name, (url, headers) in sides.items():
                start = time.perf_counter()
                clients[name].post(url, json=BODY, headers=headers).raise_for_status()
                out[name][i] = time.perf_counter() - start
        for name, pid in pids.items():
            first, last = before[name], _cpu_s(pid)
            cpu[name] = None if first is None or last is None else (last - first) * 1000.0 / n
    finally:
        for client in clients.values():
            client.close()
    return {name: lat * 1000.0 for name, lat in out.items()}, cpu


async def _throughput(url: str, headers: dict[str, str], n: int, concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        queue = iter(range(n))

        async def worker() -> None:
            for _ in queue:
                (await client.post(url, json=BODY, headers=headers)).raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return n / (time.perf_counter() - start)


def _wait(url: str, proc: subprocess.Popen[bytes], what: str, timeout: float = 90) -> None:
    """Wait until `url` answers 200; SystemExit naming `what` if the process dies or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            why = proc.stderr.read().decode() if proc.stderr else ""
            raise SystemExit(f"{what} exited: {why}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not answer {url} within {timeout:.0f} s")


def _litellm_version(litellm: Path) -> str:
    """The installed litellm's version, asked of the Python interpreter next to the command."""
    python = litellm.parent / "python"
    try:
        out = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
            capture_output=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        return "version unknown"
    return out.stdout.decode().strip()


def _start_litellm(litellm: Path, upstream: str, tmp: Path,
                   procs: list[subprocess.Popen[bytes]]) -> tuple[str, dict[str, str], str]:
    """Start LiteLLM's proxy (one process) on the upstream; its chat URL, headers and version.

    SystemExit with the reason when it cannot be started or does not answer.
    """
    if not litellm.is_file():
        raise SystemExit(f"{litellm} is not a file (give the `litellm` command of a venv "
                         "with `litellm[proxy]` installed)")
    config = tmp / "litellm.yaml"
    config.write_text(LITELLM_CONFIG.format(upstream=upstream))
    port = _free_port()
    master_key = "sk-" + secrets.token_hex(32)
    headers = {"Authorization": f"Bearer {master_key}"}
    env = {**os.environ, "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False",
           "LITELLM_LOCAL_MODEL_COST_MAP": "True", "NO_DOCS": "True",
           "LITELLM_MASTER_KEY": master_key}
    for name in ("DATABASE_URL", "REDIS_HOST", "REDIS_URL"):
        env.pop(name, None)
    log = tmp / "litellm.log"  # a file, not a pipe: a full pipe would stall the proxy
    with log.open("wb") as sink:
        proxy = subprocess.Popen(
            [str(litellm), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
             "--num_workers", "1"],
            env=env, cwd=tmp, stdout=sink, stderr=subprocess.STDOUT)
    procs.append(proxy)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base + "/health/liveliness", proxy, "litellm", timeout=240)
        url = base + "/v1/chat/completions"
        answer = httpx.post(url, json=BODY, headers=headers, timeout=60)
        if answer.status_code != 200 or \
                answer.json()["choices"][0]["message"]["content"] != "ok":
            raise SystemExit(f"litellm answered {answer.status_code}: {answer.text[:300]}")
    except (SystemExit, httpx.HTTPError, ValueError, LookupError) as exc:
        tail = log.read_text(errors="replace")[-400:]
        raise SystemExit(f"{exc}; its log ends: {tail}") from None
    return url, headers, _litellm_version(litellm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--litellm", type=Path, default=os.environ.get("AIOS_BENCH_LITELLM"),
                        help="the `litellm` command of a venv with litellm[proxy] "
                             "(default: $AIOS_BENCH_LITELLM); measures its proxy too")
    parser.add_argument("--baseline-src", type=Path, default=None,
                        help="also measure an `aios serve` running the code in this src "
                             "directory (e.g. /work/main/src), interleaved with this tree's")
    args = parser.parse_args()
    litellm_note = "no --litellm given (nor AIOS_BENCH_LITELLM)"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        upstream_proc = subprocess.Popen([sys.executable, "-c", UPSTREAM.format(root=str(ROOT))],
                                         stdout=subprocess.PIPE)
        procs.append(upstream_proc)
        assert upstream_proc.stdout is not None
        upstream = upstream_proc.stdout.readline().decode().strip()
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "home"
            manifest = Path(tmp) / "manifest.yaml"
            manifest.write_text(MANIFEST.format(upstream=upstream))
            settings = Settings(home=home, database_url=None)
            token = asyncio.run(_token(settings))
            sides = {"direct to upstream": (upstream + "/v1/chat/completions",
                                            {"Authorization": "Bearer sk-bench"})}
            port = _free_port()
            bare = subprocess.Popen([sys.executable, "-c", BARE_PROXY.format(), upstream,
                                     str(port)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
            procs.append(bare)
            _wait(f"http://127.0.0.1:{port}/healthz", bare, "the bare proxy")
            sides[BARE] = (f"http://127.0.0.1:{port}/v1/chat/completions", {})
            pids = {BARE: bare.pid}
            # The same endpoint twice: looking the key up in the store on every request (the
            # code before the key cache), and remembering it for the default 5 s.
            servers = [("endpoint, no key cache", "0", None),
                       ("endpoint, key cache 5 s", "5", None)]
            if args.baseline_src is not None:
                servers.append((BASELINE, "5", args.baseline_src.resolve()))
            for name, cache_s, src in servers:
                port = _free_port()
                env = {**os.environ, "AIOS_HOME": str(home), "BENCH_OPENAI_KEY": "sk-bench",
                       "AIOS_KEY_CACHE_SECONDS": cache_s}
                if src is not None:
                    env["PYTHONPATH"] = str(src)
                env.pop("AIOS_DATABASE_URL", None)
                env.pop("AIOS_REDIS_URL", None)
                server = subprocess.Popen(
                    [sys.executable, "-m", "aios.cli", "serve", "--port", str(port),
                     "--manifest", str(manifest), "--log-level", "warning"],
                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                procs.append(server)
                endpoint = f"http://127.0.0.1:{port}"
                _wait(endpoint + "/healthz", server, "aios serve")
                sides[name] = (endpoint + "/v1/chat/completions",
                               {"Authorization": f"Bearer {token}"})
                pids[name] = server.pid
            if args.litellm is not None:
                try:
                    litellm_url, litellm_headers, version = _start_litellm(
                        args.litellm, upstream, Path(tmp), procs)
                    sides["LiteLLM proxy"] = (litellm_url, litellm_headers)
                    litellm_note = f"litellm {version}, {args.litellm}"
                except SystemExit as exc:
                    litellm_note = f"did not start: {str(exc.code)[-600:]}"
            rows = {}
            latencies, cpu = _sequential(sides, args.requests, pids)
            for name, (url, headers) in sides.items():
                lat = latencies[name]
                rps = asyncio.run(_throughput(url, headers, args.requests, args.concurrency))
                rows[name] = (float(np.percentile(lat, 50)), float(np.percentile(lat, 99)), rps)
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"(cores: {os.cpu_count()}); {args.requests} requests per side, "
          f"concurrency {args.concurrency} for req/s")
    print(f"{'':26} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}   added p50 / p99 ms, req/s "
          "vs direct;   server CPU ms/request")
    d50, d99, drps = rows["direct to upstream"]
    for name, (p50, p99, rps) in rows.items():
        added = f"{'':28}" if name.startswith("direct") else \
            f"   {p50 - d50:+8.2f} {p99 - d99:+8.2f} {rps / drps:6.2f}x"
        used = cpu.get(name)
        print(f"{name:26} {p50:8.2f} {p99:8.2f} {rps:8.0f}{added}"
              + (f"   {used:6.2f}" if used is not None else ""))
    b50, b99, brps = rows[BARE]
    for name, (p50, p99, rps) in rows.items():
        if name.startswith("endpoint"):
            used, bare_used = cpu.get(name), cpu.get(BARE)
            extra = "" if used is None or bare_used is None else \
                f", server CPU {used - bare_used:+.2f} ms/request"
            print(f"{name}: beyond the HTTP hop (minus the bare proxy): p50 {p50 - b50:+.2f} "
                  f"ms, p99 {p99 - b99:+.2f} ms, req/s {rps / brps:.2f}x the bare proxy's"
                  f"{extra}")
    (o50, _, orps), (c50, _, crps) = rows["endpoint, no key cache"], \
        rows["endpoint, key cache 5 s"]
    print(f"key cache / no key cache: added p50 {(c50 - d50) / (o50 - d50):.2f}x, "
          f"req/s {crps / orps:.2f}x")
    if "LiteLLM proxy" not in rows:
        print(f"LiteLLM's proxy not measured: {litellm_note}")
        return
    l50, l99, lrps = rows["LiteLLM proxy"]
    print(f"LiteLLM proxy: {litellm_note}")
    for name, (p50, p99, rps) in rows.items():
        if name.startswith("endpoint"):
            print(f"Ai:oS ({name}) / LiteLLM: req/s {rps / lrps:.2f}x; added p50 "
                  f"{p50 - d50:+.2f} vs {l50 - d50:+.2f} ms, p99 {p99 - d99:+.2f} vs "
                  f"{l99 - d99:+.2f} ms")


if __name__ == "__main__":
    main()
