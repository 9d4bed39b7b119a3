"""Credentials in moss-py against Linux: set*uid/set*gid, getres*id, groups, setfs*id.

creds_ids starts as root and runs each scenario in a forked child (so the next starts as root
again); it prints ids after every call, /proc/self/status's Uid/Gid/Groups lines, and file
access results after privileges are dropped. qemu-aarch64 on the host (as root) is the oracle.
"""
import pytest

from tests.covers import covers

from .conftest import moss_run, qemu_user_run

pytestmark = [pytest.mark.qemu]


@pytest.mark.differential
@covers("setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "getresuid", "getresgid",
        "getgroups", "setgroups", "setfsuid", "setfsgid")
def test_credential_syscalls_match_linux():
    linux = qemu_user_run("creds_ids")
    moss = moss_run("/tests/creds_ids")
    assert linux.returncode == 0, linux.stderr
    assert moss.stdout.decode() == linux.stdout.decode() and "Groups:" in linux.stdout.decode()
    assert moss.returncode == 0


@pytest.mark.differential
@covers("setresuid", "setresgid", "setgroups", "getgroups")
def test_a_shell_that_gave_up_root_is_refused_like_on_linux(linux_oracle):
    """creds_run drops to uid 1000 (groups 100, 200) and execs sh: root's 0600 file and 0755
    directory are closed to it, a group-writable directory of group 200 is open, and the ids
    carry across exec."""
    script = ("d=/tmp/privtest; rm -rf $d; mkdir $d $d/g && echo s > $d/secret && chmod 600 $d/secret && "
              "chgrp 200 $d/g && chmod 770 $d/g && "
              "/tests/creds_run 1000 1000 100,200 /bin/sh -c '"
              "id -u; id -g; id -G; cat $0/secret 2>&1; echo cat=$?; touch $0/new 2>&1; echo touch=$?; "
              "touch $0/g/new; echo group-dir=$?; stat -c \"%u %g\" $0/g/new; "
              "grep -E \"^(Uid|Gid|Groups):\" /proc/self/status' $d; "
              "rm -rf $d")
    out, err, status = linux_oracle.run3(script)
    moss = moss_run("/bin/sh", "-c", script)
    assert status == 0, err
    assert "Permission denied" in out
    assert moss.stdout.decode() == out


@pytest.mark.differential
@covers("setfsuid", "setfsgid")
def test_fsuid_decides_who_file_operations_act_as():
    r = moss_run("/tests/creds_fsuid")
    assert r.returncode == 0, r.stderr
    assert r.stdout == qemu_user_run("creds_fsuid").stdout
    assert "Permission denied" in r.stdout.decode()
