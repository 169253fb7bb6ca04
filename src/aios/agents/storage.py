"""Storage meta-agent: mounts with space and inode usage, disk IO, and cleaning old files."""

from __future__ import annotations

import fnmatch
import os
import stat
import time
from pathlib import Path
from typing import Any

import psutil

from aios.agents._host import arg_bool, arg_number, arg_str, iso
from aios.errors import ConfigError
from aios.runtime.context import ActionContext
from aios.runtime.handlers import handler

__all__ = ["clean_old_files", "disks"]

#: Filesystems that hold no user data (kernel interfaces, RAM, read-only images that are
#: always 100% full); reporting them would drown the real disks.
PSEUDO_FS = frozenset({
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts",
    "devtmpfs", "efivarfs", "fusectl", "hugetlbfs", "mqueue", "nsfs", "proc", "pstore",
    "ramfs", "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "sysfs", "tmpfs", "tracefs",
    "fuse.gvfsd-fuse", "fuse.portal", "nfsd",
})

#: Deleted paths listed in the result at most; counts and bytes are always exact.
_MAX_LISTED = 1000


def _mount_usage(part: Any) -> dict[str, Any]:
    usage = psutil.disk_usage(part.mountpoint)
    entry: dict[str, Any] = {
        "mountpoint": part.mountpoint, "device": part.device, "fstype": part.fstype,
        "read_only": "ro" in part.opts.split(","), "total": usage.total, "used": usage.used,
        "free": usage.free, "percent": usage.percent,
        "inodes_total": None, "inodes_used": None, "inodes_percent": None,
    }
    st = os.statvfs(part.mountpoint)
    if st.f_files:  # btrfs, vfat and others report 0: no fixed inode table
        used = st.f_files - st.f_ffree
        entry.update(inodes_total=st.f_files, inodes_used=used,
                     inodes_percent=round(100 * used / st.f_files, 1))
    return entry


def _io_counters() -> dict[str, Any]:
    try:
        counters = psutil.disk_io_counters(perdisk=True) or {}
    except (OSError, RuntimeError) as exc:
        return {"available": False, "error": f"unavailable: {exc}"}
    if not counters:
        return {"available": False,
                "error": "unavailable: no disk counters (/proc/diskstats empty or absent)"}
    per_disk = {name: {"read_bytes": c.read_bytes, "write_bytes": c.write_bytes,
                       "read_count": c.read_count, "write_count": c.write_count,
                       "busy_ms": getattr(c, "busy_time", None)}
                for name, c in counters.items()}
    return {"available": True, "disks": per_disk,
            "read_bytes": sum(d["read_bytes"] for d in per_disk.values()),
            "write_bytes": sum(d["write_bytes"] for d in per_disk.values())}


@handler("storage.disks")
def disks(ctx: ActionContext) -> dict[str, Any]:
    """Mounted filesystems with space and inode usage, and disk IO counters.

    Pseudo filesystems (proc, tmpfs, cgroup, squashfs ...) are skipped; a mount that cannot be
    read (permission, stale NFS) is listed under `skipped` with the reason.

    Returns:
        {"mounts": [...], "skipped": [{mountpoint, error}], "io": {...}}.
    """
    mounts: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    seen: set[str] = set()
    for part in psutil.disk_partitions(all=True):
        if part.fstype in PSEUDO_FS or part.mountpoint in seen:
            continue
        seen.add(part.mountpoint)
        try:
            mounts.append(_mount_usage(part))
        except OSError as exc:
            skipped.append({"mountpoint": part.mountpoint,
                            "error": exc.strerror or type(exc).__name__})
    io = _io_counters()
    ctx.publish_metadata("mounts", [{k: m[k] for k in ("mountpoint", "device", "fstype",
                                                       "total", "percent", "inodes_percent")}
                                    for m in mounts])
    ctx.publish_metadata("skipped_mounts", len(skipped))
    ctx.publish_metadata("io", {k: io.get(k) for k in ("available", "read_bytes",
                                                       "write_bytes", "error") if k in io})
    return {"mounts": mounts, "skipped": skipped, "io": io}


def _clean_directory(ctx: ActionContext) -> Path:
    raw = ctx.args.get("directory") or ctx.env.get("AIOS_TMP_DIR")
    if not raw:
        raise ConfigError("storage.clean_old_files needs a `directory` argument "
                          "(or AIOS_TMP_DIR in the manifest's env)")
    if not isinstance(raw, str):
        raise ConfigError(f"argument 'directory' must be a string, got {raw!r}")
    path = Path(raw).expanduser()
    if not path.is_absolute():
        raise ConfigError(f"argument 'directory' must be an absolute path, got {raw!r}")
    resolved = path.resolve()
    if resolved == Path("/"):
        raise ConfigError("refusing to clean '/': name a specific directory")
    if resolved == Path.home().resolve():
        raise ConfigError(f"refusing to clean the home directory {str(resolved)!r} itself: "
                          "name a subdirectory")
    return resolved


@handler("storage.clean_old_files")
def clean_old_files(ctx: ActionContext) -> dict[str, Any]:
    """Delete regular files older than N days in one directory.

    Never deletes directories or symlinks and never descends through a symlink: the walk
    works on directory file descriptors, so a directory swapped for a link mid-run cannot
    lead it outside `directory`.

    Args:
        ctx: `args.directory` (default `env.AIOS_TMP_DIR`), `older_than_days` (> 0,
            default 7), `pattern` (glob on the file name, default "*"), `dry_run` (default
            false), `recursive` (default false).

    Returns:
        {"directory", "exists", "cutoff", "dry_run", "deleted": [paths], "deleted_count",
        "bytes_freed", "errors": [{path, error}]}; with `dry_run` nothing is deleted and
        `deleted` lists what would be.

    Raises:
        ConfigError: bad arguments, "/", or the home directory itself.
    """
    directory = _clean_directory(ctx)
    days = arg_number(ctx.args, "older_than_days", 7, positive=True)
    pattern = arg_str(ctx.args, "pattern", "*")
    if "/" in pattern:
        raise ConfigError(f"argument 'pattern' matches file names and cannot contain '/': "
                          f"{pattern!r}")
    dry_run = arg_bool(ctx.args, "dry_run", False)
    recursive = arg_bool(ctx.args, "recursive", False)
    cutoff = time.time() - days * 86400
    result: dict[str, Any] = {"directory": str(directory), "exists": directory.is_dir(),
                              "cutoff": iso(cutoff), "dry_run": dry_run, "deleted": [],
                              "deleted_count": 0, "bytes_freed": 0, "errors": []}
    if not result["exists"]:
        if directory.exists():
            raise ConfigError(f"argument 'directory' is not a directory: {str(directory)!r}")
        ctx.publish_metadata("cleaned", {k: result[k] for k in ("directory", "exists")})
        return result
    for dirpath, dirnames, filenames, dir_fd in os.fwalk(directory, follow_symlinks=False):
        if not recursive:
            dirnames.clear()
        for name in filenames:
            if not fnmatch.fnmatchcase(name, pattern):
                continue
            path = os.path.join(dirpath, name)
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                if not stat.S_ISREG(st.st_mode) or st.st_mtime >= cutoff:
                    continue
                if not dry_run:
                    os.unlink(name, dir_fd=dir_fd)
            except OSError as exc:
                result["errors"].append({"path": path, "error": exc.strerror or str(exc)})
                continue
            result["deleted_count"] += 1
            result["bytes_freed"] += st.st_size
            if len(result["deleted"]) < _MAX_LISTED:
                result["deleted"].append(path)
    result["truncated"] = result["deleted_count"] > len(result["deleted"])
    ctx.publish_metadata("cleaned", {k: result[k] for k in (
        "directory", "exists", "dry_run", "deleted_count", "bytes_freed")}
        | {"errors": len(result["errors"])})
    return result
