"""Debian's static BusyBox applets on moss-py."""
import pytest

from tests.covers import covers

from .conftest import moss_run

pytestmark = pytest.mark.qemu


def test_busybox_echo_prints_its_arguments():
    r = moss_run("/bin/echo", "hello", "from", "busybox")
    assert (r.returncode, r.stdout) == (0, b"hello from busybox\n")


def test_busybox_true_and_false_give_their_statuses():
    assert moss_run("/bin/true").returncode == 0
    assert moss_run("/bin/false").returncode == 1


@covers("openat", "read", "close")
def test_busybox_cat_reads_a_file_from_the_initramfs():
    r = moss_run("/bin/cat", "/etc/passwd")
    assert r.returncode == 0
    assert r.stdout.startswith(b"root:x:0:0:")


def test_busybox_cat_of_a_missing_file_reports_enoent():
    r = moss_run("/bin/cat", "/no/such/file")
    assert r.returncode == 1
    assert b"No such file or directory" in r.stderr


@covers("getdents64", "newfstatat")
def test_busybox_ls_lists_a_directory():
    r = moss_run("/bin/ls", "/tests")
    assert r.returncode == 0
    assert set(r.stdout.split()) >= {b"hello", b"args", b"memchurn"}


@covers("newfstatat", "readlinkat")
def test_busybox_ls_long_format_shows_modes_and_symlinks():
    r = moss_run("/bin/ls", "-l", "/bin/sh")
    assert r.returncode == 0
    assert r.stdout.startswith(b"lrwxrwxrwx") and b"-> " in r.stdout


@covers("uname")
def test_busybox_uname_reports_the_kernel():
    r = moss_run("/bin/uname", "-s", "-m")
    assert (r.returncode, r.stdout) == (0, b"Linux aarch64\n")


@covers("chdir", "getcwd")
def test_busybox_shell_runs_builtins():
    r = moss_run("/bin/sh", "-c", "cd /etc && pwd && echo $((6 * 7)) && exit 3")
    assert r.stdout == b"/etc\n42\n"
    assert r.returncode == 3


@covers("openat", "write", "read")
def test_dev_null_swallows_writes_and_reads_as_eof():
    r = moss_run("/bin/sh", "-c", "echo gone > /dev/null && echo written; read line < /dev/null || echo eof")
    assert r.stdout == b"written\neof\n"
