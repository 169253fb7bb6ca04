"""`aios serve`: the REST API and the dashboard (FastAPI on Uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer

from aios.cli.common import (
    EnvOpt,
    ForensicOpt,
    JsonOpt,
    ManifestOpt,
    console,
    emit_json,
    fail,
    resolve_options,
)
from aios.errors import AiosError, ConfigError

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add `serve`."""

    @app.command("serve")
    def serve(ctx: typer.Context,
              host: Annotated[str, typer.Option(
                  help="Address to listen on; 0.0.0.0 exposes it to the network (put a TLS "
                       "proxy in front).")] = "127.0.0.1",
              port: Annotated[int, typer.Option(help="TCP port.", min=0, max=65535)] = 8080,
              executor: Annotated[str | None, typer.Option(
                  "--executor", help="Where actions run: local | ray (default "
                  "AIOS_EXECUTOR).")] = None,
              forwarded_allow_ips: Annotated[str, typer.Option(
                  "--forwarded-allow-ips", help="Proxies whose X-Forwarded-Proto/For are "
                  "trusted (comma-separated IPs, or *).")] = "127.0.0.1",
              log_level: Annotated[str, typer.Option(
                  help="Uvicorn log level: critical, error, warning, info, debug.")] = "info",
              manifest: ManifestOpt = None, env: EnvOpt = None, forensic: ForensicOpt = False,
              json_out: JsonOpt = False) -> None:
        """Serve the REST API (OpenAPI at /docs), the dashboard (/), Prometheus /metrics and
        /healthz; runs started here execute in this process's runtime, and waiting runs
        resume as soon as their approvals arrive.

        Log in with a password set by `aios users add NAME --role approver --password`, or
        call the API with a token from `aios users token NAME`.
        """
        import uvicorn

        from aios.gc_tuning import tune_gc
        from aios.runtime.executors import executor_names
        from aios.server import create_app

        opts = resolve_options(ctx, manifest=manifest, env=env, forensic=forensic,
                               json_out=json_out)
        settings = opts.settings()
        try:
            if executor is not None:
                if executor not in executor_names():
                    raise ConfigError(f"--executor {executor!r}: use one of "
                                      f"{', '.join(executor_names())}")
                settings = settings.model_copy(update={"executor": executor})
            # The runtime's start-up (detectors, name lists, the embedding model) is made
            # after the command's own `tune_gc`: freeze it too, so that full collections do
            # not walk it between requests (0.45 s for one full pass, measured in-process
            # on the 2-core machine under load).
            application = create_app(settings, manifest=opts.manifest, env=opts.env,
                                     on_started=tune_gc)
        except AiosError as exc:
            fail(str(exc), exc.exit_code)
        url = f"http://{host if host not in ('0.0.0.0', '::') else '127.0.0.1'}:{port}"
        if opts.json:
            emit_json({"url": url, "dashboard": f"{url}/", "openapi": f"{url}/openapi.json",
                       "executor": settings.executor})
        else:
            console().print(f"Ai:oS dashboard on [bold]{url}/[/] · API {url}/docs · "
                            f"executor {settings.executor}")
        uvicorn.run(application, host=host, port=port, proxy_headers=True,
                    forwarded_allow_ips=forwarded_allow_ips, log_level=log_level,
                    timeout_graceful_shutdown=10)
