"""The file system under a store: detected on the real mounts this machine can make (tmpfs, a loop ext4,
/proc), and the network policy tried with a forced answer (VEXPLORE_TEST_FS_TYPE): the store moves to
the local cache (said once), an explicit --store there gets a rollback journal, a warning and an owner
file beside the flock."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.clirun import run_cli
from tests.fullfs import need_root
from tests.test_disk_full import texts
from vexplore.engine.events import NoticeEvent, from_json
from vexplore.engine.filesystems import fs_kind, fs_type, kind_of, mounts
from vexplore.engine.lock import LockedError, WriterLock

pytestmark = pytest.mark.fast


def notices(stderr: str) -> list[str]:
    return [e.message for e in map(from_json, stderr.splitlines()) if isinstance(e, NoticeEvent)]


def _mount(args: list[str], point: Path) -> None:
    need_root("mounting a file system")
    point.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", *args, str(point)], check=True)


def test_detects_tmpfs_and_a_loop_ext4_and_proc(tmp_path):
    spaced = tmp_path / "a mount point"
    _mount(["-t", "tmpfs", "-o", "size=1m", "tmpfs"], spaced)
    try:
        assert fs_type(spaced) == "tmpfs" and fs_type(spaced / "not" / "made" / "yet") == "tmpfs"
        assert fs_kind(spaced) == "local"
    finally:
        subprocess.run(["umount", str(spaced)], check=False)
    assert fs_type(Path("/proc/self")) == "proc"
    if not shutil.which("mkfs.ext4"):
        pytest.fail("mkfs.ext4 is missing: install e2fsprogs")
    image = tmp_path / "disk.img"
    with open(image, "wb") as fh:
        fh.truncate(8 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    point = tmp_path / "ext4"
    _mount(["-o", "loop", str(image)], point)
    try:
        assert fs_type(point / "store") == "ext4" and fs_kind(point) == "local"
    finally:
        subprocess.run(["umount", str(point)], check=False)


def test_mountinfo_lines_and_kinds():
    text = (
        "36 35 98:0 /mnt1 /mnt/data\\040set rw,noatime master:1 - nfs4 server:/export rw\n"
        "40 27 0:50 / /home/me/remote rw,nosuid shared:5 - fuse.sshfs me@host:/ rw,user_id=0\n"
        "41 27 0:51 / /lus rw - lustre 10.0.0.1@tcp:/fs rw\n"
    )
    assert mounts(text) == [("/mnt/data set", "nfs4"), ("/home/me/remote", "fuse.sshfs"), ("/lus", "lustre")]
    assert [kind_of(t) for t in ("nfs4", "cifs", "lustre", "gpfs", "beegfs", "ceph", "9p")] == ["network"] * 7
    assert kind_of("fuse.sshfs") == "fuse" and kind_of("ext4") == kind_of("tmpfs") == "local"


def test_a_folder_on_a_network_fs_keeps_its_store_in_the_local_cache(tmp_path):
    root = texts(tmp_path / "texts", 20)
    env = {"VEXPLORE_TEST_FS_TYPE": "nfs4", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    first = run_cli("index", str(root), "--model", "toy", "--json", **env)
    assert first.returncode == 0, first.stderr
    assert not (root / ".vexplore").exists()
    (store,) = (tmp_path / "cache" / "vexplore" / "stores").iterdir()
    said = f"{root} is on a network file system (nfs4): its store is kept on this machine, in {store}"
    assert [n for n in notices(first.stderr) if n.startswith(said)]
    again = run_cli("index", str(root), "--model", "toy", "--json", **env)
    assert again.returncode == 0 and notices(again.stderr) == []  # said once
    found = run_cli("neighbors", str(root), "t00003.txt", "--json", **env)
    assert found.returncode == 0 and "t000" in found.stdout


def test_an_explicit_store_on_a_network_fs_journals_without_wal_and_warns(tmp_path, monkeypatch):
    root = texts(tmp_path / "texts", 20)
    store = tmp_path / "store"
    done = run_cli(
        "index", str(root), "--model", "toy", "--store", str(store), "--json", VEXPLORE_TEST_FS_TYPE="nfs4"
    )
    assert done.returncode == 0, done.stderr
    assert notices(done.stderr) == [
        f"the store {store} is on a network file system (nfs4): its catalog uses a rollback journal "
        "instead of WAL and the one writer is also checked by a lock file; a store on a local disk is "
        "faster and safer"
    ]
    mode = sqlite3.connect(store / "catalog.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "delete" and not (store / "catalog.sqlite-wal").exists()
    assert not (store / "writer").exists()  # the owner file goes with its writer

    monkeypatch.setenv("VEXPLORE_TEST_FS_TYPE", "nfs4")
    (store / "writer").write_text("elsewhere 4242 1700000000")  # a writer on another host
    with pytest.raises(LockedError, match=f"host elsewhere, pid 4242, .*delete {store / 'writer'}"):
        WriterLock(store).__enter__()
    (store / "writer").write_text(f"{socket.gethostname()} 999999 1700000000")  # a dead writer, this host
    with WriterLock(store):
        assert (store / "writer").read_text().split()[:2] == [socket.gethostname(), str(os.getpid())]
    assert not (store / "writer").exists()
