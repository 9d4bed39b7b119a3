"""File attribute syscalls in moss-py against Linux: chmod/chown/utimensat/truncate/fallocate/link/sync.

fsattr_basic runs everything in a fresh /tmp directory (so qemu-aarch64 on the host is a safe
oracle) and prints results and errnos; a forked child drops to uid 1000 for the EPERM/EACCES rules.
BusyBox's chmod, chown, touch -d, ln and truncate are compared with Linux booted in QEMU.
"""
import pytest

from tests.covers import covers

from .conftest import moss_run, qemu_user_run

pytestmark = [pytest.mark.qemu]


@covers("fchmodat", "fchmod", "fchownat", "fchown", "utimensat", "truncate", "ftruncate", "fallocate",
        "linkat", "fsync", "fdatasync", "sync", "syncfs")
@pytest.mark.differential
def test_file_attribute_syscalls_match_linux_results_and_errnos():
    linux = qemu_user_run("fsattr_basic")
    moss = moss_run("/tests/fsattr_basic")
    assert linux.returncode == 0, linux.stderr
    assert moss.stdout.decode() == linux.stdout.decode() and linux.stdout
    assert moss.returncode == 0


@pytest.mark.differential
@covers("truncate", "fchownat", "fchmodat", "utimensat", "linkat")
def test_busybox_attribute_commands_match_linux(linux_oracle):
    script = (
        "d=/tmp/bbattr; rm -rf $d; mkdir $d && cd $d && "
        "echo hello > f && chmod 4751 f && stat -c '%a %s' f && "
        "chown 12:34 f && stat -c '%a %u %g' f && "
        "chown -h 5:6 f && ln -s f s && chown -h 7:8 s && stat -c '%u %g' s f && "
        "touch -d '2001-02-03 04:05:06' f && TZ=UTC stat -c '%y' f && "
        "touch -m -d '2010-01-01 00:00:00' f && TZ=UTC stat -c '%x / %y' f && "
        "ln f hard && stat -c '%h %i' f | cut -d' ' -f1 && "
        "ln hard hard 2>/dev/null; echo ln-self=$? && "
        "ln -s nowhere dangling && ls -l dangling | cut -c1 && "
        "truncate -s 10 f && stat -c %s f && truncate -s 3 f && cat f && echo && "
        "chmod u-x,g+w f && stat -c %a f && chmod 600 . 2>/dev/null; stat -c %a . ; "
        "cd / && rm -rf $d"
    )
    out, err, status = linux_oracle.run3(script)
    moss = moss_run("/bin/sh", "-c", script)
    assert status == 0, err
    assert moss.stdout.decode() == out and "ln-self=" in out
    assert moss.returncode == 0
