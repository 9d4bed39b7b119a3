"""ext4 remounted read-only (mount -o remount,ro; umount of one's root): what ext4_remount
writes. The data is on disk and the superblock says clean again at once; back to read-write,
the mount is counted and the state is "not clean" as at any read-write mount."""
import pytest

from moss_host.errors import EBUSY, Errno
from moss_host.fs.vfs import vfs_create, vfs_unlink

from .test_ext4_support import at, debugfs_cat, dumpe2fs_header, fsck, mkfs, mount, vfs


def test_remount_read_only_writes_back_and_marks_the_fs_clean(tmp_path):
    img = mkfs(tmp_path / "img", None, "4M")
    count = int(dumpe2fs_header(img)["Mount count"])
    fs = mount(img)
    ctx = vfs(fs)
    f = vfs_create(at(ctx, b"/"), b"f", 0o644, None).inode
    f.write(0, b"written before going read-only")
    fs.remount_read_only()
    assert fs.read_only
    assert dumpe2fs_header(img)["Filesystem state"] == "clean"
    assert debugfs_cat(img, "/f") == b"written before going read-only"
    fsck(img)
    fs.read_only = False                # what namespace.remount does going back to read-write
    fs.mark_mounted()
    hdr = dumpe2fs_header(img)
    assert hdr["Filesystem state"] == "not clean" and int(hdr["Mount count"]) == count + 2
    fs.unmount()
    assert dumpe2fs_header(img)["Filesystem state"] == "clean"
    fsck(img)


def test_remount_read_only_is_busy_while_an_unlinked_file_is_open(tmp_path):
    img = mkfs(tmp_path / "img", None, "4M")
    fs = mount(img)
    ctx = vfs(fs)
    f = vfs_create(at(ctx, b"/"), b"f", 0o644, None).inode
    f.opened()
    vfs_unlink(at(ctx, b"/"), b"f", None)
    with pytest.raises(Errno) as e:
        fs.remount_read_only()
    assert e.value.code == EBUSY and not fs.read_only
    f.closed()
    fs.remount_read_only()
    assert dumpe2fs_header(img)["Filesystem state"] == "clean"
    fsck(img)
