"""The ext4 journal (jbd2): transactions written as Linux writes them, replayed as Linux does.

A crash is a mount that is never unmounted. "Crashed right after a commit" is made by
putting the metadata blocks of the last transactions back to what they held before it
(their home copies never written): only the log has them. e2fsck (e2fsprogs' own
recovery) must replay what this driver logged, and this driver must replay what
e2fsprogs' debugfs logged.
"""
from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest

from moss_host.errors import Errno
from moss_host.fs.drivers.ext4 import journal_format as F
from moss_host.fs.drivers.ext4.fs import Ext4Superblock

from .test_ext4_support import (debugfs, debugfs_cat, debugfs_write, dumpe2fs_header, fsck, make_tree, mkfs,
                               mount, read_all, run, unmount_and_check)


def crash_copy(fs: Ext4Superblock, img: Path, dest: Path, before: bytes | None = None) -> Path:
    """The image as a kill -9 would leave it now; with `before` (the image before the last
    commits), the logged metadata blocks hold their old contents, as if never checkpointed."""
    shutil.copy(img, dest)
    if before is not None:
        bs = fs.block_size
        assert fs.journal is not None
        with open(dest, "r+b") as f:
            for blk in fs.journal.logged:
                f.seek(blk * bs)
                f.write(before[blk * bs:(blk + 1) * bs])
    return dest


def e2fsck_replays(img: Path) -> str:
    """e2fsck -fy recovers the journal and finds nothing else; then -fn is clean."""
    r = run("e2fsck", "-fy", str(img), check=False)
    out = r.stdout + r.stderr
    assert r.returncode in (0, 1), out
    assert "recovering journal" in out, out
    assert "corrupt" not in out.lower() and "checksum" not in out.lower(), out
    fixed = [line for line in out.splitlines() if line.startswith(("Free ", "Fix", "Inode", "Entry", "Block"))]
    assert not fixed, out
    fsck(img)
    return out


def make_files(fs: Ext4Superblock, names: range, size: int = 3000) -> None:
    for i in names:
        f = fs.root.create(f"n{i}".encode(), 0o100644, 0, 0)
        f.write(0, bytes([i % 251]) * size)


def test_mount_logs_with_linux_features_and_unmount_empties_the_log(tmp_path):
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"f": b"data"}), "8M")
    fs = mount(img)
    hdr = dumpe2fs_header(img)
    assert "needs_recovery" in hdr["Filesystem features"]
    assert hdr["Journal features"].split() == ["journal_incompat_revoke", "journal_64bit", "journal_checksum_v3"]
    assert hdr["Journal start"] != "0" and hdr["Journal checksum type"] == "crc32c"
    make_files(fs, range(5))
    fs.sync()
    assert "Found expected sequence" in debugfs(img, "logdump")
    unmount_and_check(fs, img)
    hdr = dumpe2fs_header(img)
    assert "needs_recovery" not in hdr["Filesystem features"] and hdr["Journal start"] == "0"


@pytest.mark.parametrize("fstype, opts", [("ext4", ()), ("ext4", ("-O", "^metadata_csum,^64bit")), ("ext3", ()),
                                          ("ext4", ("-b", "4096"))])
def test_e2fsck_replays_what_was_only_logged(tmp_path, fstype, opts):
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"f": b"data"}), "8M", fstype, *opts)
    fs = mount(img)
    before = img.read_bytes()
    make_files(fs, range(40))
    fs.sync()
    copy = crash_copy(fs, img, tmp_path / "crashed", before)
    e2fsck_replays(copy)
    for i in (0, 17, 39):
        assert debugfs_cat(copy, f"/n{i}") == bytes([i]) * 3000


@pytest.mark.parametrize("fstype, opts", [("ext4", ()), ("ext4", ("-O", "^metadata_csum,^64bit")), ("ext3", ()),
                                          ("ext4", ("-b", "4096"))])
def test_this_driver_replays_what_it_logged(tmp_path, fstype, opts):
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"f": b"data"}), "8M", fstype, *opts)
    fs = mount(img)
    before = img.read_bytes()
    make_files(fs, range(40))
    fs.sync()
    copy = crash_copy(fs, img, tmp_path / "crashed", before)
    again = mount(copy)
    assert read_all(again.root.lookup(b"n39")) == bytes([39]) * 3000
    unmount_and_check(again, copy)


def test_a_crash_between_commits_loses_only_the_uncommitted(tmp_path):
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"f": b"data"}), "8M")
    fs = mount(img)
    make_files(fs, range(10))
    fs.sync()
    make_files(fs, range(10, 20))               # never committed
    copy = crash_copy(fs, img, tmp_path / "crashed")
    e2fsck_replays(copy)
    assert debugfs_cat(copy, "/n9") == bytes([9]) * 3000
    assert "File not found" in run("debugfs", "-R", "stat /n15", str(copy)).stderr


def test_the_log_wraps_around(tmp_path):
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"f": b"data"}), "8M")
    fs = mount(img)
    assert fs.journal is not None
    for k in range(60):                         # 1024-block log, ~20 blocks a commit
        make_files(fs, range(k * 3, k * 3 + 3), size=100)
        fs.sync()
    assert fs.journal.sequence > 50 and fs.journal.head < 600
    before = img.read_bytes()
    make_files(fs, range(500, 520), size=100)
    fs.sync()
    e2fsck_replays(crash_copy(fs, img, tmp_path / "a", before))
    again = mount(crash_copy(fs, img, tmp_path / "b", before))
    assert read_all(again.root.lookup(b"n519")) == bytes([519 % 251]) * 100
    unmount_and_check(again, tmp_path / "b")


def test_logged_metadata_reused_as_file_data_is_revoked(tmp_path):
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"f": b"data"}), "8M")
    fs = mount(img)
    d = fs.root.mkdir(b"d", 0o755, 0, 0)
    for i in range(60):                         # a directory of several logged blocks
        d.create(f"entry-with-a-long-name-{i}".encode(), 0o100644, 0, 0)
    fs.sync()
    dir_blocks = {r.pblk + k for r in d.runs() for k in range(r.length)}
    for i in range(60):
        d.unlink(f"entry-with-a-long-name-{i}".encode())
    fs.root.rmdir(b"d")
    fs.sync()
    f = fs.root.create(b"big", 0o100644, 0, 0)
    f.write(0, b"D" * 200_000)                  # takes the freed directory blocks
    fs.sync()
    reused = dir_blocks & {r.pblk + k for r in f.runs() for k in range(r.length)}
    assert reused
    assert "revoke" in debugfs(img, "logdump").lower()
    copy = crash_copy(fs, img, tmp_path / "crashed")
    e2fsck_replays(copy)
    assert debugfs_cat(copy, "/big") == b"D" * 200_000
    again = mount(crash_copy(fs, img, tmp_path / "b"))
    assert read_all(again.root.lookup(b"big")) == b"D" * 200_000


def test_blocks_freed_in_a_transaction_are_not_reused_before_it_commits(tmp_path):
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"f": b"data"}), "8M")
    fs = mount(img)
    a = fs.root.create(b"a", 0o100644, 0, 0)
    a.write(0, b"A" * 50_000)
    fs.sync()
    old = {r.pblk + k for r in a.runs() for k in range(r.length)}
    fs.root.unlink(b"a")
    b = fs.root.create(b"b", 0o100644, 0, 0)
    b.write(0, b"B" * 50_000)                   # a's blocks are still a's until the commit
    assert not old & {r.pblk + k for r in b.runs() for k in range(r.length)}


def test_a_journal_written_by_e2fsprogs_is_replayed_at_mount(tmp_path):
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"f": b"x" * 1024}), "8M")
    blk = int(debugfs(img, "bmap /f 0").strip())
    content = tmp_path / "blk"
    content.write_bytes(F.MAGIC_BYTES + b"Z" * 1020)      # starts like a journal block: escaped
    debugfs_write(img, "jo -c", f"jw -b {blk} {content}", "jc")
    assert "needs_recovery" in dumpe2fs_header(img)["Filesystem features"]
    fs = mount(img)
    assert read_all(fs.root.lookup(b"f")) == F.MAGIC_BYTES + b"Z" * 1020
    unmount_and_check(fs, img)


def test_a_revoke_written_by_e2fsprogs_is_honoured(tmp_path):
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"f": b"x" * 1024}), "8M")
    blk = int(debugfs(img, "bmap /f 0").strip())
    content = tmp_path / "blk"
    content.write_bytes(b"Z" * 1024)
    debugfs_write(img, "jo -c", f"jw -b {blk} {content}", "jc", "jo", f"jw -r {blk}", "jc")
    fs = mount(img)
    assert read_all(fs.root.lookup(b"f")) == b"x" * 1024
    unmount_and_check(fs, img)


def test_read_only_mount_leaves_a_dirty_journal_alone(tmp_path):
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"f": b"x" * 1024}), "8M")
    blk = int(debugfs(img, "bmap /f 0").strip())
    content = tmp_path / "blk"
    content.write_bytes(b"Z" * 1024)
    debugfs_write(img, "jo -c", f"jw -b {blk} {content}", "jc")
    before = img.read_bytes()
    fs = mount(img, read_only=True)
    assert read_all(fs.root.lookup(b"f")) == b"x" * 1024
    fs.unmount()
    assert img.read_bytes() == before


def test_remount_read_write_of_a_dirty_log_is_refused(tmp_path):
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"f": b"x" * 1024}), "8M")
    blk = int(debugfs(img, "bmap /f 0").strip())
    content = tmp_path / "blk"
    content.write_bytes(b"Z" * 1024)
    debugfs_write(img, "jo -c", f"jw -b {blk} {content}", "jc")
    fs = mount(img, read_only=True)
    fs.read_only = False                        # what namespace.remount does before mark_mounted
    with pytest.raises(Errno) as e:
        fs.mark_mounted()
    assert e.value.code == errno.EROFS and fs.read_only


def test_a_log_that_never_commits_is_scanned_once_around(tmp_path):
    """Revoke blocks of one sequence all round the log: the scan ends, nothing is replayed."""
    from moss_host.fs.drivers.ext4.journal_replay import recover
    js = F.JournalSuper.parse(bytes(F.header(F.SUPERBLOCK_V2, 0)) + bytes(1012))
    js.blocksize, js.maxlen, js.first, js.sequence, js.start = 1024, 64, 1, 7, 5
    block = bytes(F.pack_revoke(js, 7, [3]))
    r = recover(js, lambda blk: block, lambda blk, data: pytest.fail("replayed"))
    assert r.end_transaction == 7 and r.replayed == 0


def test_a_burst_of_metadata_changes_commits_before_it_outgrows_the_log(tmp_path, caplog):
    """jbd2 closes a transaction long before it could outgrow the log; so does this driver
    (BlockDevice.dirty_limit): a burst of directory changes between two looks of the commit
    timer is committed in log-sized pieces at loop turns, never written unjournaled."""
    import asyncio
    img = mkfs(tmp_path / "img", make_tree(tmp_path / "src", {"f": b"data"}), "8M")

    async def burst() -> tuple[int, int, Ext4Superblock]:
        fs = mount(img)                         # inside a running loop: the watch is on
        assert fs.journal is not None and fs.blockdev.dirty_limit == fs.journal.size // 8
        first = fs.journal.sequence
        for i in range(400):                    # ~2 metadata blocks each, 1024-block log
            fs.root.mkdir(f"d{i}".encode(), 0o755, 0, 0)
            await asyncio.sleep(0)              # the loop turns between operations, as between syscalls
        return first, fs.journal.sequence, fs

    first, last, fs = asyncio.run(burst())
    assert last - first >= 3, (first, last)
    assert "unjournaled" not in caplog.text
    copy = crash_copy(fs, img, tmp_path / "crashed")
    run("e2fsck", "-fy", str(copy), check=False)
    fsck(copy)
