"""user and application agents: real utmp and /etc/passwd; a fake Docker engine socket."""

from __future__ import annotations

import json
import os
import socketserver
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import psutil
import pytest

from aios.agents import application, user
from aios.errors import ConfigError
from aios.manifest.schema import Action
from aios.runtime.context import ActionContext


def make_ctx(action, args=None, env=None, llm=None):
    published = {}
    ctx = ActionContext(run_id="t", action=action, step_id=action, spec=Action(handler=action),
                        args=args or {}, env=env or {}, llm=llm,
                        _publish=lambda a, k, v: published.setdefault(a, {}).__setitem__(k, v),
                        _run_metadata=published)
    return ctx, published


def test_sessions_match_psutil_users():
    ctx, published = make_ctx("user.sessions")
    result = user.sessions(ctx)
    assert result["count"] == len(psutil.users())
    assert published["user.sessions"]["session_count"] == result["count"]
    json.dumps(result)


def test_accounts_read_the_real_passwd_file():
    ctx, published = make_ctx("user.accounts")
    result = user.accounts(ctx)
    lines = [ln for ln in Path("/etc/passwd").read_text().splitlines()
             if ln.strip() and not ln.startswith(("#", "+", "-"))]
    assert result["available"] is True
    assert result["count"] == len(lines) - result["malformed_lines"]
    assert "root" in result["uid0_accounts"]
    assert published["user.accounts"]["uid0_accounts"] == result["uid0_accounts"]
    json.dumps(result)


def test_accounts_flag_extra_uid0_and_skip_nologin_shells(tmp_path):
    passwd = tmp_path / "passwd"
    passwd.write_text(
        "root:x:0:0:root:/root:/bin/bash\n"
        "toor:x:0:0::/root:/bin/sh\n"
        "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
        "svc:x:999:999::/srv:/bin/false\n"
        "alice:x:1000:1000::/home/alice:/bin/zsh\n"
        "broken line\n")
    result = user.accounts(make_ctx("user.accounts", {"passwd": str(passwd)})[0])
    assert result["count"] == 5 and result["malformed_lines"] == 1
    assert result["uid0_accounts"] == ["root", "toor"]
    assert [a["name"] for a in result["login_accounts"]] == ["root", "toor", "alice"]


def test_accounts_report_a_missing_passwd_file_as_unavailable(tmp_path):
    result = user.accounts(make_ctx("user.accounts", {"passwd": str(tmp_path / "nope")})[0])
    assert result["available"] is False and result["error"].startswith("unavailable")


def test_containers_report_which_default_engine_sockets_exist():
    ctx, published = make_ctx("application.containers")
    result = application.containers(ctx)
    assert set(result["engines"]) == set(application.ENGINE_SOCKETS)
    for name, path in application.ENGINE_SOCKETS.items():
        assert result["engines"][name]["present"] == os.path.exists(path)
    assert published["application.containers"]["container_count"] == result["container_count"]
    json.dumps(result)


class _FakeDocker(BaseHTTPRequestHandler):
    status = 200
    body = json.dumps([
        {"Id": "0123456789abcdef", "Names": ["/web"], "Image": "nginx", "State": "running",
         "Status": "Up 2 hours"},
        {"Id": "fedcba9876543210", "Names": ["/job"], "Image": "busybox", "State": "exited",
         "Status": "Exited (0)"},
    ]).encode()

    def do_GET(self):
        assert self.path.startswith("/containers/json")
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def address_string(self):
        return "unix"

    def log_message(self, *args):
        pass


@pytest.fixture
def docker_socket(tmp_path):
    def serve(handler_cls):
        path = str(tmp_path / "d.sock")
        server = socketserver.ThreadingUnixStreamServer(path, handler_cls)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        servers.append(server)
        return path

    servers: list[socketserver.ThreadingUnixStreamServer] = []
    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_containers_lists_containers_from_a_docker_api_socket(docker_socket):
    path = docker_socket(_FakeDocker)
    ctx, published = make_ctx("application.containers", {"sockets": {"docker": path}})
    result = application.containers(ctx)
    docker = result["engines"]["docker"]
    assert docker["present"] is True and docker["count"] == 2 and docker["running"] == 1
    assert docker["containers"][0] == {"id": "0123456789ab", "names": ["web"], "image": "nginx",
                                       "state": "running", "status": "Up 2 hours"}
    assert result["container_count"] == 2
    assert "containers" not in published["application.containers"]["engines"]["docker"]


def test_containers_record_an_engine_error_instead_of_failing(docker_socket):
    class Broken(_FakeDocker):
        status = 500
        body = b'{"message": "boom"}'

    path = docker_socket(Broken)
    result = application.containers(make_ctx("application.containers",
                                              {"sockets": {"docker": path}})[0])
    assert result["engines"]["docker"]["error"].startswith("HTTP 500")
    assert result["container_count"] == 0


def test_containers_ignore_a_socket_path_that_is_not_a_socket(tmp_path):
    path = tmp_path / "docker.sock"
    path.write_text("")
    result = application.containers(make_ctx("application.containers",
                                              {"sockets": {"docker": str(path)}})[0])
    assert result["engines"]["docker"] == {"socket": str(path), "present": False}


def test_containers_reject_a_bad_sockets_argument():
    with pytest.raises(ConfigError, match="sockets"):
        application.containers(make_ctx("application.containers", {"sockets": ["x"]})[0])


def test_services_group_processes_by_name_biggest_first():
    ctx, published = make_ctx("application.services", {"top": 200})
    result = application.services(ctx)
    names = [s["name"] for s in result["services"]]
    if result["distinct"] <= 200:
        assert psutil.Process().name() in names
    rss = [s["rss_bytes"] for s in result["services"]]
    assert rss == sorted(rss, reverse=True)
    assert all(s["processes"] >= 1 for s in result["services"])
    assert published["application.services"]["services"] == result["services"]
    json.dumps(result)
