"""storage agent: real mounts and IO; clean_old_files on a temporary directory."""

from __future__ import annotations

import json
import os
import time

import psutil
import pytest

from aios.agents import storage
from aios.errors import ConfigError
from aios.manifest.schema import Action
from aios.runtime.context import ActionContext

DAY = 86400


def make_ctx(action, args=None, env=None, llm=None):
    published = {}
    ctx = ActionContext(run_id="t", action=action, step_id=action, spec=Action(handler=action),
                        args=args or {}, env=env or {}, llm=llm,
                        _publish=lambda a, k, v: published.setdefault(a, {}).__setitem__(k, v),
                        _run_metadata=published)
    return ctx, published


def make_file(path, age_days, size=10):
    path.write_bytes(b"x" * size)
    stamp = time.time() - age_days * DAY
    os.utime(path, (stamp, stamp))
    return path


def test_disks_reports_the_root_filesystem_usage_without_pseudo_filesystems():
    ctx, published = make_ctx("storage.disks")
    result = storage.disks(ctx)
    by_mount = {m["mountpoint"]: m for m in result["mounts"]}
    root = psutil.disk_usage("/")
    assert by_mount["/"]["total"] == root.total
    assert by_mount["/"]["percent"] == pytest.approx(root.percent, abs=1)
    assert not any(m["fstype"] in storage.PSEUDO_FS for m in result["mounts"])
    assert "/proc" not in by_mount
    st = os.statvfs("/")
    if st.f_files:
        assert by_mount["/"]["inodes_total"] == st.f_files
    assert published["storage.disks"]["mounts"][0]["mountpoint"] in by_mount
    json.dumps(result)


def test_disks_io_counters_match_psutil_when_available():
    ctx, _ = make_ctx("storage.disks")
    io = storage.disks(ctx)["io"]
    counters = psutil.disk_io_counters(perdisk=True)
    if counters:
        assert io["available"] is True
        assert set(io["disks"]) == set(counters)
    else:
        assert io["available"] is False and io["error"].startswith("unavailable")


def test_clean_old_files_deletes_only_files_older_than_the_cutoff(tmp_path):
    old = make_file(tmp_path / "old.log", 10, size=100)
    new = make_file(tmp_path / "new.log", 1)
    ctx, published = make_ctx("storage.clean_old_files",
                              {"directory": str(tmp_path), "older_than_days": 7})
    result = storage.clean_old_files(ctx)
    assert not old.exists() and new.exists()
    assert result["deleted"] == [str(old)]
    assert result["bytes_freed"] == 100
    assert published["storage.clean_old_files"]["cleaned"]["deleted_count"] == 1
    json.dumps(result)


def test_clean_old_files_dry_run_deletes_nothing(tmp_path):
    old = make_file(tmp_path / "old.tmp", 10, size=7)
    ctx, _ = make_ctx("storage.clean_old_files", {"directory": str(tmp_path), "dry_run": True})
    result = storage.clean_old_files(ctx)
    assert old.exists()
    assert result["deleted"] == [str(old)] and result["bytes_freed"] == 7
    assert result["dry_run"] is True


def test_clean_old_files_honours_the_pattern(tmp_path):
    log = make_file(tmp_path / "a.log", 10)
    keep = make_file(tmp_path / "a.dat", 10)
    ctx, _ = make_ctx("storage.clean_old_files", {"directory": str(tmp_path), "pattern": "*.log"})
    storage.clean_old_files(ctx)
    assert not log.exists() and keep.exists()


def test_clean_old_files_never_removes_directories_or_follows_symlinks(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = make_file(outside / "precious", 30)
    work = tmp_path / "work"
    work.mkdir()
    sub = work / "sub"
    sub.mkdir()
    nested = make_file(sub / "nested", 30)
    (work / "link").symlink_to(target)
    (work / "dirlink").symlink_to(outside, target_is_directory=True)
    stamp = time.time() - 30 * DAY
    os.utime(sub, (stamp, stamp))
    ctx, _ = make_ctx("storage.clean_old_files", {"directory": str(work), "recursive": True})
    result = storage.clean_old_files(ctx)
    assert target.exists() and (work / "link").is_symlink() and sub.is_dir()
    assert not nested.exists()
    assert result["deleted"] == [str(nested)]


def test_clean_old_files_is_not_recursive_by_default(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    nested = make_file(sub / "nested", 30)
    ctx, _ = make_ctx("storage.clean_old_files", {"directory": str(tmp_path)})
    assert storage.clean_old_files(ctx)["deleted_count"] == 0
    assert nested.exists()


def test_clean_old_files_defaults_to_the_aios_tmp_dir_env(tmp_path):
    old = make_file(tmp_path / "old", 10)
    ctx, _ = make_ctx("storage.clean_old_files", env={"AIOS_TMP_DIR": str(tmp_path)})
    assert storage.clean_old_files(ctx)["directory"] == str(tmp_path.resolve())
    assert not old.exists()


def test_clean_old_files_treats_a_missing_directory_as_nothing_to_do(tmp_path):
    ctx, _ = make_ctx("storage.clean_old_files", {"directory": str(tmp_path / "absent")})
    result = storage.clean_old_files(ctx)
    assert result["exists"] is False and result["deleted"] == []


@pytest.mark.parametrize("args, message", [
    ({"directory": "/"}, "refusing to clean '/'"),
    ({"directory": "/tmp/../"}, "refusing to clean '/'"),
    ({}, "needs a `directory`"),
    ({"directory": "relative/dir"}, "absolute"),
    ({"directory": "/tmp", "older_than_days": 0}, "> 0"),
    ({"directory": "/tmp", "older_than_days": -3}, "> 0"),
    ({"directory": "/tmp", "older_than_days": "7"}, "number"),
    ({"directory": "/tmp", "dry_run": "yes"}, "true or false"),
    ({"directory": "/tmp", "pattern": "../*"}, "cannot contain '/'"),
])
def test_clean_old_files_rejects_bad_arguments(args, message):
    ctx, _ = make_ctx("storage.clean_old_files", args)
    with pytest.raises(ConfigError, match=message):
        storage.clean_old_files(ctx)


def test_clean_old_files_refuses_the_home_directory_itself(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    make_file(tmp_path / "old", 30)
    ctx, _ = make_ctx("storage.clean_old_files", {"directory": "~"})
    with pytest.raises(ConfigError, match="home directory"):
        storage.clean_old_files(ctx)
    assert (tmp_path / "old").exists()


def test_clean_old_files_refuses_a_regular_file_as_directory(tmp_path):
    path = make_file(tmp_path / "file", 30)
    ctx, _ = make_ctx("storage.clean_old_files", {"directory": str(path)})
    with pytest.raises(ConfigError, match="not a directory"):
        storage.clean_old_files(ctx)
