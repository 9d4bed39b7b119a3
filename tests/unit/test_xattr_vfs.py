"""fs/xattr.py: Linux's xattr_permission and handler lookup, on tmpfs (simple_xattrs) and ramfs."""
import errno
import stat as S

import pytest

from moss_host.cred import Cred
from moss_host.errors import Errno
from moss_host.fs.drivers.tmpfs import Ramfs, Tmpfs
from moss_host.fs.xattr import XATTR_CREATE, XATTR_REPLACE, vfs_getxattr, vfs_listxattr, vfs_setxattr

ROOT = Cred(0, 0)
USER = Cred(1000, 1000)


def _errno(fn, *args) -> int:
    with pytest.raises(Errno) as e:
        fn(*args)
    return e.value.code


@pytest.fixture
def tmp():
    sb = Tmpfs()
    return sb.root.create(b"f", S.S_IFREG | 0o644, 0, 0), sb.root


def test_tmpfs_keeps_security_and_trusted_newest_first(tmp):
    f, _ = tmp
    vfs_setxattr(f, b"security.a", b"1", 0, ROOT, True)
    vfs_setxattr(f, b"trusted.b", b"2", 0, ROOT, True)
    assert vfs_listxattr(f, True) == [b"trusted.b", b"security.a"]
    assert vfs_listxattr(f, False) == [b"security.a"]              # trusted.* hidden
    assert vfs_getxattr(f, b"security.a", USER, False) == b"1"
    assert _errno(vfs_getxattr, f, b"trusted.b", USER, False) == errno.ENODATA
    assert _errno(vfs_setxattr, f, b"trusted.b", b"x", 0, USER, False) == errno.EPERM
    assert _errno(vfs_setxattr, f, b"security.a", b"x", XATTR_CREATE, ROOT, True) == errno.EEXIST
    assert _errno(vfs_setxattr, f, b"security.z", b"x", XATTR_REPLACE, ROOT, True) == errno.ENODATA
    vfs_setxattr(f, b"security.a", None, XATTR_REPLACE, ROOT, True)
    assert _errno(vfs_setxattr, f, b"security.a", None, XATTR_REPLACE, ROOT, True) == errno.ENODATA
    assert vfs_listxattr(f, True) == [b"trusted.b"]


def test_namespaces_tmpfs_has_no_handler_for_are_eopnotsupp(tmp):
    f, _ = tmp
    assert _errno(vfs_setxattr, f, b"user.a", b"1", 0, ROOT, True) == errno.EOPNOTSUPP
    assert _errno(vfs_getxattr, f, b"other.a", ROOT, True) == errno.EOPNOTSUPP
    assert _errno(vfs_getxattr, f, b"security.", ROOT, True) == errno.EINVAL
    assert _errno(vfs_getxattr, f, b"system.posix_acl_access", ROOT, True) == errno.ENODATA


def test_user_namespace_rules_come_before_the_handler(tmp):
    _, root = tmp
    fifo = root.create(b"p", S.S_IFIFO | 0o666, 0, 0)
    assert _errno(vfs_getxattr, fifo, b"user.a", ROOT, True) == errno.ENODATA
    assert _errno(vfs_setxattr, fifo, b"user.a", b"1", 0, ROOT, True) == errno.EPERM
    sticky = root.mkdir(b"t", S.S_IFDIR | 0o1777, 0, 0)
    assert _errno(vfs_setxattr, sticky, b"user.a", b"1", 0, USER, False) == errno.EPERM
    f = root.create(b"g", S.S_IFREG | 0o600, 0, 0)
    assert _errno(vfs_getxattr, f, b"user.a", USER, False) == errno.EACCES


def test_ramfs_has_no_xattrs():
    f = Ramfs().root.create(b"f", S.S_IFREG | 0o644, 0, 0)
    assert _errno(vfs_setxattr, f, b"security.a", b"1", 0, ROOT, True) == errno.EOPNOTSUPP
    assert _errno(vfs_getxattr, f, b"security.a", ROOT, True) == errno.EOPNOTSUPP
    assert vfs_listxattr(f, True) == []
