"""System V IPC and POSIX message queues, compared with Linux booted in the same QEMU."""
import pytest

from tests.covers import covers

from .conftest import moss_run, same_as_linux
from .test_debian import same_as_linux as debian_same_as_linux

pytestmark = [pytest.mark.qemu, pytest.mark.differential]


@covers("shmget", "shmat", "shmdt", "shmctl")
def test_sysv_shm_keys_attach_fork_exec_rmid_permissions_and_proc_as_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "sysv_shm", status=0)
    assert "maps: rw-s 00000000 00:01 /SYSV5157ab01 (deleted)" in out
    assert "parent sees \"child\", nattch 1 after the child's exit" in out
    assert "after exec: nattch 1" in out
    assert "key after rmid: ENOENT" in out
    assert "futex wake in shm: woke 1" in out
    assert out.endswith("done\n")


@covers("semget", "semop", "semtimedop", "semctl")
def test_sysv_sem_atomic_ops_sleepers_timeouts_undo_rmid_and_permissions_as_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "sysv_sem", status=0)
    assert "semop interrupted (SA_RESTART): EINTR" in out
    assert "child: EIDRM" in out
    assert out.endswith("done\n")


@covers("msgget", "msgsnd", "msgrcv", "msgctl")
def test_sysv_msg_types_copy_full_queue_sleepers_rmid_and_permissions_as_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "sysv_msg", status=0)
    assert "child: sent after room ok" in out
    assert out.endswith("done\n")


@covers("mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr")
def test_posix_mqueue_priorities_blocking_notify_attributes_and_filesystem_as_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "mqueue", status=0)
    assert "  receive: 10 prio 7 \"from child\"" in out
    assert out.endswith("done\n")


IPC_SYSCTLS = ("shmmax", "shmall", "shmmni", "sem", "msgmax", "msgmnb", "msgmni")


def test_ipc_limits_in_proc_sys_kernel_and_sysvipc_headers_as_linux(linux_oracle):
    """The limits read as Linux 6.1's defaults; root writes them (a new msgmnb is what a new
    queue gets); the /proc/sysvipc tables start with Linux's header lines."""
    script = ("for f in " + " ".join(IPC_SYSCTLS) + "; do printf '%s: ' $f; cat /proc/sys/kernel/$f; done; "
              "echo 4096 > /proc/sys/kernel/msgmnb && cat /proc/sys/kernel/msgmnb; "
              "echo 'x' > /proc/sys/kernel/msgmnb || echo rejected; "
              "echo 16384 > /proc/sys/kernel/msgmnb; "
              "head -n 1 /proc/sysvipc/shm /proc/sysvipc/sem /proc/sysvipc/msg")
    out, err, status = linux_oracle.run3(script)
    moss = moss_run("/bin/sh", "-c", script)
    assert moss.stdout.decode() == out, moss.stderr.decode(errors="replace")
    assert "sem: 32000\t1024000000\t500\t32000\n" in out


IPCS_SCRIPT = r"""
m=$(ipcmk -M 8192 -p 0640 | awk '{print $NF}')
q=$(ipcmk -Q | awk '{print $NF}')
s=$(ipcmk -S 3 | awk '{print $NF}')
hide() { sed -E 's/^0x[0-9a-f]{8} +[0-9]+ /KEY ID /'; }
ipcs | hide
ipcs -l
ipcs -u
ipcs -m -i "$m" | grep -v -E 'time=|pid=' | sed -E 's/id=[0-9]+/id=ID/'
ipcs -s -i "$s" | grep -v -E 'time|^[0-9]' | sed -E 's/id=[0-9]+/id=ID/'
ipcrm -m "$m" -q "$q" -s "$s"
ipcrm -m "$m" 2>&1 | sed -E 's/\([0-9]+\)/(ID)/'
ipcs | hide
"""


@pytest.mark.slow
@covers("shmget", "shmctl", "msgget", "msgctl", "semget", "semctl")
def test_debian_ipcmk_ipcs_ipcrm_as_linux(linux_debian_oracle, moss_disk):
    """util-linux's ipcmk makes one of each, ipcs lists them (keys and ids hidden: ipcmk's keys
    are random), shows the limits and the usage summary, ipcrm removes them."""
    out = debian_same_as_linux(linux_debian_oracle, moss_disk, ["bash", "-c", IPCS_SCRIPT])
    assert "------ Shared Memory Segments --------" in out
    assert "KEY ID          root       640        8192       0" in out
    assert "max semaphores system wide = 1024000000" in out
    assert "ipcrm: invalid id (ID)" in out
