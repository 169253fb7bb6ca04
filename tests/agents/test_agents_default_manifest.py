"""The packaged default manifest: valid, every handler built in, mutations guarded."""

from __future__ import annotations

import pytest

from aios.manifest.loader import default_manifest_path, load_manifest
from aios.manifest.schema import Criticality
from aios.runtime.handlers import HandlerRegistry

PROBES = {
    "kernel.processes", "kernel.resources", "kernel.hardening", "storage.disks",
    "networking.interfaces", "networking.sockets", "security.firewall", "security.exposure",
    "user.sessions", "user.accounts", "application.containers", "application.services",
    "scalability.assess",
}


@pytest.fixture(scope="module")
def registry():
    return HandlerRegistry.builtin()


@pytest.fixture(scope="module")
def manifest(registry):
    return load_manifest(default_manifest_path(), check_handler=registry.check)


def test_every_action_handler_resolves_to_a_builtin(manifest, registry):
    for name in manifest.action_names():
        handler = manifest.action(name).handler
        assert registry.check(handler) is None
        assert handler == name  # the default manifest names actions after their handlers


def test_every_builtin_handler_is_declared(manifest, registry):
    assert set(manifest.action_names()) == set(registry.names())


def test_mutating_actions_are_high_or_critical(manifest):
    mutating = [n for n in manifest.action_names() if manifest.action(n).mutates]
    assert set(mutating) == {"storage.clean_old_files", "kernel.terminate_process",
                             "security.add_firewall_rule"}
    for name in mutating:
        assert manifest.action(name).criticality.rank >= Criticality.high.rank


def test_read_only_probes_do_not_mutate(manifest):
    for name in PROBES | {"orchestration.summarize"}:
        assert manifest.action(name).mutates is False


def test_params_and_step_arguments_fit_the_declared_inputs(manifest):
    def check(name, args):
        schema = manifest.action(name).inputs
        assert schema.get("type") == "object"
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            assert set(args) <= set(props), (name, args)

    for name in manifest.action_names():
        check(name, manifest.action(name).params)
    for seq in manifest.sequences.values():
        for step in seq.steps:
            check(step.action, step.with_)


def test_boot_runs_probes_in_parallel_then_summarizes(manifest):
    boot = manifest.sequences["boot"]
    assert boot.is_dag
    deps = boot.dependencies()
    summarize = next(s for s in boot.steps if s.action == "orchestration.summarize")
    assert summarize.critical is True
    # The report waits for every probe, not for the mutating step that awaits approval.
    assert set(deps[summarize.step_id]) == set(deps) - {summarize.step_id,
                                                        "storage.clean_old_files"}
    assert {s.action for s in boot.steps} == PROBES | {"storage.clean_old_files",
                                                       "orchestration.summarize"}
    for step in boot.steps:
        if step is not summarize:
            assert deps[step.step_id] == []


def test_boot_cleans_the_aios_tmp_dir_non_critically(manifest):
    clean = next(s for s in manifest.sequences["boot"].steps
                 if s.action == "storage.clean_old_files")
    assert clean.critical is False
    assert "directory" not in clean.with_
    assert clean.with_["older_than_days"] == 7
    assert manifest.env["AIOS_TMP_DIR"] == "/tmp/aios"


def test_health_runs_only_read_only_probes(manifest):
    actions = {s.action for s in manifest.sequences["health"].steps}
    assert actions == PROBES
    assert not any(manifest.action(a).mutates for a in actions)


def test_shutdown_snapshots_then_summarizes(manifest):
    steps = [s.action for s in manifest.sequences["shutdown"].steps]
    assert steps[-1] == "orchestration.summarize"
    assert {"kernel.processes", "storage.disks"} <= set(steps)
    assert not any(manifest.action(a).mutates for a in steps)
