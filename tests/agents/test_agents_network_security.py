"""networking and security agents: real sockets of this process; firewall tools faked on PATH."""

from __future__ import annotations

import json
import os
import socket
import stat

import psutil
import pytest

from aios.agents import _host, networking, security
from aios.errors import ActionError, ConfigError
from aios.manifest.schema import Action
from aios.runtime.context import ActionContext


def make_ctx(action, args=None, env=None, llm=None):
    published = {}
    ctx = ActionContext(run_id="t", action=action, step_id=action, spec=Action(handler=action),
                        args=args or {}, env=env or {}, llm=llm,
                        _publish=lambda a, k, v: published.setdefault(a, {}).__setitem__(k, v),
                        _run_metadata=published)
    return ctx, published


@pytest.fixture
def tcp_listener():
    def listen(host):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((host, 0))
        sock.listen()
        opened.append(sock)
        return sock.getsockname()[1]

    opened: list[socket.socket] = []
    yield listen
    for sock in opened:
        sock.close()


@pytest.fixture
def fake_bin(tmp_path, monkeypatch):
    """A PATH holding only the scripts a test writes, so no real firewall tool is touched."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", str(bindir))

    def write(name, body):
        path = bindir / name
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
        return path

    return write


def test_interfaces_lists_every_interface_with_its_addresses():
    ctx, published = make_ctx("networking.interfaces")
    result = networking.interfaces(ctx)
    assert set(result["interfaces"]) == set(psutil.net_if_addrs()) | set(psutil.net_if_stats())
    if "lo" in result["interfaces"]:
        lo = result["interfaces"]["lo"]
        assert lo["up"] is True
        assert "127.0.0.1" in [a["address"] for a in lo["ipv4"]]
        assert "lo" in result["up"]
    assert published["networking.interfaces"]["up"] == result["up"]
    json.dumps(result)


def test_sockets_include_a_listener_opened_by_the_test(tcp_listener):
    port = tcp_listener("127.0.0.1")
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    try:
        ctx, published = make_ctx("networking.sockets")
        result = networking.sockets(ctx)
        assert result["available"] is True
        mine = [s for s in result["listening"] if s["port"] == port and s["proto"] == "tcp"]
        assert mine and mine[0]["address"] == "127.0.0.1"
        assert mine[0]["pid"] == os.getpid()
        assert mine[0]["process"] == psutil.Process().name()
        udp_port = udp.getsockname()[1]
        assert any(s["port"] == udp_port and s["proto"] == "udp" for s in result["listening"])
        assert result["connection_states"]["LISTEN"] >= 1
        assert published["networking.sockets"]["listening"] == result["listening"]
        json.dumps(result)
    finally:
        udp.close()


def test_exposure_separates_all_interface_listeners_from_loopback_ones(tcp_listener):
    wide = tcp_listener("0.0.0.0")
    local = tcp_listener("127.0.0.1")
    ctx, published = make_ctx("security.exposure")
    result = security.exposure(ctx)
    exposed_ports = {s["port"] for s in result["exposed"]}
    assert wide in exposed_ports and local not in exposed_ports
    assert result["local_only_count"] >= 1
    assert published["security.exposure"]["exposure_counts"]["exposed"] == len(result["exposed"])
    json.dumps(result)


def test_firewall_reports_not_installed_without_nft_or_iptables(fake_bin):
    ctx, published = make_ctx("security.firewall")
    result = security.firewall(ctx)
    assert result["status"] == "not installed" and result["tool"] is None
    assert published["security.firewall"]["firewall"] == result


def test_firewall_parses_an_nft_ruleset(fake_bin):
    ruleset = [
        "table inet filter {",
        "\tchain input {",
        "\t\ttype filter hook input priority filter; policy drop;",
        "\t\tct state established,related accept",
        "\t\ttcp dport 22 accept",
        "\t}",
        "}",
    ]
    # printf is a shell builtin: the fake PATH holds no `cat`.
    fake_bin("nft", "printf '%s\\n' " + " ".join(f"'{line}'" for line in ruleset) + "\n")
    result = security.firewall(make_ctx("security.firewall")[0])
    assert result["tool"] == "nft" and result["status"] == "active"
    assert result["rules"] == 2
    assert result["policies"] == {"input": "drop"}


def test_firewall_reports_permission_denied_from_iptables(fake_bin):
    fake_bin("iptables", "echo 'iptables: Permission denied (you must be root).' >&2; exit 4\n")
    result = security.firewall(make_ctx("security.firewall")[0])
    assert result["tool"] == "iptables" and result["status"] == "permission denied"
    assert "Permission denied" in result["detail"]


def test_firewall_counts_iptables_rules_and_empty_rulesets(fake_bin):
    fake_bin("iptables", "echo '-P INPUT ACCEPT'; echo '-P FORWARD ACCEPT'\n")
    assert security.firewall(make_ctx("security.firewall")[0])["status"] == "empty"
    fake_bin("iptables", "echo '-P INPUT ACCEPT'; echo '-A INPUT -p tcp --dport 22 -j DROP'\n")
    result = security.firewall(make_ctx("security.firewall")[0])
    assert result["status"] == "active" and result["rules"] == 1


@pytest.mark.parametrize("args, message", [
    ({"port": 0, "action": "accept"}, "port"),
    ({"port": 65536, "action": "accept"}, "port"),
    ({"port": "ssh", "action": "accept"}, "port"),
    ({"port": True, "action": "accept"}, "port"),
    ({"action": "accept"}, "port"),
    ({"port": 22, "action": "reject"}, "action"),
    ({"port": 22, "action": "accept", "protocol": "icmp"}, "protocol"),
    ({"port": 22, "action": "accept", "source": "10.0.0.0/33"}, "source"),
    ({"port": 22, "action": "accept", "source": "not-an-ip"}, "source"),
])
def test_add_firewall_rule_rejects_bad_arguments(fake_bin, args, message):
    ctx, _ = make_ctx("security.add_firewall_rule", args)
    with pytest.raises(ConfigError, match=message):
        security.add_firewall_rule(ctx)


def test_add_firewall_rule_names_the_missing_tools(fake_bin):
    ctx, _ = make_ctx("security.add_firewall_rule", {"port": 8080, "action": "drop"})
    with pytest.raises(ActionError, match="neither nft nor iptables"):
        security.add_firewall_rule(ctx)


def test_add_firewall_rule_runs_nft_with_the_rule(fake_bin, tmp_path):
    record = tmp_path / "argv"
    fake_bin("nft", f'echo "$@" > {record}\n')
    ctx, published = make_ctx("security.add_firewall_rule",
                              {"port": 8080, "action": "drop", "protocol": "udp",
                               "source": "2001:db8::/32"})
    result = security.add_firewall_rule(ctx)
    assert record.read_text().split() == [
        "add", "rule", "inet", "filter", "input", "ip6", "saddr", "2001:db8::/32",
        "udp", "dport", "8080", "drop"]
    assert result["tool"] == "nft" and result["already_present"] is False
    assert published["security.add_firewall_rule"]["firewall_rule"]["rule"]["port"] == 8080


def test_add_firewall_rule_reports_the_tool_refusing(fake_bin):
    fake_bin("nft", "echo 'Error: No such file or directory; table filter' >&2; exit 1\n")
    ctx, _ = make_ctx("security.add_firewall_rule", {"port": 22, "action": "accept"})
    with pytest.raises(ActionError, match="nft refused the rule"):
        security.add_firewall_rule(ctx)


def test_firewall_command_for_iptables_inserts_at_the_top_of_input():
    rule = {"port": 22, "protocol": "tcp", "action": "accept", "source": "10.0.0.0/8"}
    assert security.firewall_command("iptables", rule) == [
        "iptables", "-I", "INPUT", "-p", "tcp", "--dport", "22", "-s", "10.0.0.0/8",
        "-j", "ACCEPT"]


def test_add_firewall_rule_with_iptables_checks_before_inserting(fake_bin, tmp_path):
    record = tmp_path / "argv"
    fake_bin("iptables", f'if [ "$1" = "-C" ]; then exit 1; fi\necho "$@" > {record}\n')
    ctx, _ = make_ctx("security.add_firewall_rule",
                      {"port": 443, "action": "accept", "source": "192.168.1.7"})
    result = security.add_firewall_rule(ctx)
    assert result["tool"] == "iptables" and result["already_present"] is False
    assert record.read_text().split() == ["-I", "INPUT", "-p", "tcp", "--dport", "443",
                                          "-s", "192.168.1.7/32", "-j", "ACCEPT"]


def test_add_firewall_rule_does_not_duplicate_an_existing_iptables_rule(fake_bin, tmp_path):
    record = tmp_path / "argv"
    fake_bin("iptables", f'if [ "$1" = "-C" ]; then exit 0; fi\necho "$@" > {record}\n')
    ctx, _ = make_ctx("security.add_firewall_rule", {"port": 443, "action": "drop"})
    assert security.add_firewall_rule(ctx)["already_present"] is True
    assert not record.exists()


def test_run_command_reports_timeouts_and_missing_binaries():
    looping = _host.run_command(["/bin/sh", "-c", "while :; do :; done"], timeout=0.2)
    assert looping.status == "timeout" and looping.returncode is None
    missing = _host.run_command(["/nonexistent/aios-tool"], timeout=1)
    assert missing.status == "not installed"
