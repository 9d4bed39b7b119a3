"""Namespaces in moss-py against Linux booted in QEMU (they need root: qemu-aarch64 on the host
is no oracle here). The programs change namespaces only in children that exit, so the oracle
is left as it was.

ns_uts.c: unshare(CLONE_NEWUTS) and clone(CLONE_NEWUTS) give a child its own host and domain
names (uname, sethostname, setdomainname, /proc/sys/kernel/hostname), inherited by its
children and invisible to the parent; setns through a pidfd joins one; clone(CLONE_NEWNS) a
mount namespace of its own; copy_process's flag checks and EPERM without CAP_SYS_ADMIN.

ns_links.c: /proc/PID/ns/{uts,mnt} as tools use them to compare and enter namespaces.
"""
import pytest

from tests.covers import covers

from .conftest import same_as_linux

pytestmark = [pytest.mark.qemu]


@pytest.mark.differential
@covers("unshare", "clone", "setns", "uname", "sethostname", "setdomainname", "mount")
def test_uts_and_mount_namespaces_of_children_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "ns_uts", status=0)
    assert "child: uname host=expected domain=expected proc=expected" in out
    assert "parent at end: uname host=expected domain=expected proc=expected" in out
    assert "parent sees inner: ENOENT" in out


@pytest.mark.differential
@covers("readlinkat", "newfstatat", "fstat", "setns", "unshare", "ioctl")
def test_proc_pid_ns_links_name_stat_and_join_namespaces_as_linux(linux_oracle):
    """ns_links.c: /proc/PID/ns/{uts,mnt} (the kinds moss-py has; Linux's others are not
    looked at): "kind:[N]" links whose nsfs inode has st_ino N, new numbers after unshare,
    setns with an opened one, /proc/PID/{root,cwd} into another mount namespace, EACCES/EPERM
    for another user; the nsfs ioctls (NS_GET_NSTYPE,
    NS_GET_USERNS: the initial user namespace, NS_GET_PARENT, NS_GET_OWNER_UID) lsns uses."""
    out = same_as_linux(linux_oracle, "ns_links", status=0)
    assert "uts: lstat ok link=1 stat ok reg=1 mode=444 ino=link:1 open ok fstat ok ino=link:1 same dev:1" in out
    assert "after unshare mnt: new=1" in out and "back in mnt: 1" in out
    assert "uts NS_GET_USERNS: ok fstat ok init ino=1 reg=1 cloexec=1" in out
    assert "uts: fd link is the ns link: 1" in out
    assert "own view: ENOENT\nthrough its root: ok\nthrough its cwd: ok\n" in out


UNSHARE_SCRIPT = """h=$(uname -n)
unshare -u sh -c 'busybox hostname inner; uname -n; cat /proc/sys/kernel/hostname
    [ "$(readlink /proc/self/ns/uts)" != "$(readlink /proc/$PPID/ns/uts)" ] && echo own uts'
[ "$(uname -n)" = "$h" ] && echo parent keeps its hostname
mkdir -p /tmp/ns.d
unshare -m sh -c 'busybox mount -t tmpfs none /tmp/ns.d && touch /tmp/ns.d/f && ls /tmp/ns.d'
ls /tmp/ns.d | wc -l
unshare -u -m sh -c 'busybox hostname entered; busybox mount -t tmpfs none /tmp/ns.d; touch /tmp/ns.d/x
    touch /tmp/ns.ready; while [ -e /tmp/ns.ready ]; do sleep 0.1; done' &
while [ ! -e /tmp/ns.ready ]; do sleep 0.1; done
nsenter -t $! -u -m -r sh -c 'uname -n; ls /tmp/ns.d'
rm /tmp/ns.ready
wait
rmdir /tmp/ns.d
[ "$(uname -n)" = "$h" ] && echo hostname still the same
"""


@pytest.mark.slow
@pytest.mark.differential
@covers("unshare", "sethostname", "setns")
def test_util_linux_unshare_u_and_m_match_linux(linux_debian_oracle, moss_disk):
    """`unshare -u` (util-linux, Debian's image) keeps a hostname change inside; `unshare -m`
    a tmpfs mount; `nsenter -u -m` (setns with /proc/PID/ns files) sees both."""
    from .test_debian import same_as_linux as debian_same_as_linux
    out = debian_same_as_linux(linux_debian_oracle, moss_disk, ["bash", "-c", UNSHARE_SCRIPT])
    assert out == "inner\ninner\nown uts\nparent keeps its hostname\nf\n0\nentered\nx\nhostname still the same\n"
