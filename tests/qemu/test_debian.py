"""Debian's own programs from build/debian.ext4 (`just image-debian`) under moss-py, and under
Linux 6.1 chrooted into a copy of the same image (tests/qemu/linux_debian_oracle.py).

Each side works on its own copy of the image. A command runs as `moss-host run --disk COPY --
ARGV` does it, after a tmpfs is mounted on /tmp (what the oracle mounts in its chroot, and
the image's fstab at boot); its stdout and exit status must be Linux's. Where Linux itself
differs from run to run (pids, times, other processes), the programs print the shape of
what they see instead (counts, headers, whether thread ids are the process's).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from tests.covers import covers

from .conftest import REPO, moss_run

pytestmark = [pytest.mark.qemu, pytest.mark.slow]

# moss-py's side of the oracle's chroot setup: a tmpfs on /tmp, then the program itself.
ON_TMPFS = ["/bin/busybox", "sh", "-c",
            'mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp && exec "$@"', "sh"]


def run_in_moss(disk: Path, argv: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    return moss_run(*ON_TMPFS, *argv, image=None, extra=("--disk", str(disk)), timeout=timeout)


def same_as_linux(oracle, disk: Path, argv: list[str], status: int = 0) -> str:
    """argv's stdout and status under moss-py are Linux's (which must be `status`); returns it."""
    out, err, linux_status = oracle.run_argv(argv, timeout=600)
    assert linux_status == status, (out, err)
    moss = run_in_moss(disk, argv)
    assert moss.stdout.decode("utf-8", "surrogateescape") == out, moss.stderr.decode(errors="replace")[-3000:]
    assert moss.returncode == linux_status, moss.stderr.decode(errors="replace")[-3000:]
    return out


def python(script: str) -> list[str]:
    return ["python3", "-c", script]


def bash(script: str) -> list[str]:
    return ["bash", "-c", script]


# ------------------------------------------------------------------ python3

PY_THREADS = """
import concurrent.futures, queue, threading
lock = threading.Lock()
total = [0]
def work(n):
    for _ in range(2000):
        with lock:
            total[0] += n
threads = [threading.Thread(target=work, args=(i,)) for i in range(1, 7)]
for t in threads: t.start()
for t in threads: t.join()
print("threads", total[0], threading.active_count())
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    print("pool", list(pool.map(lambda x: x * x, range(40))))
    print("workers", len({f.result() for f in [pool.submit(threading.get_native_id) for _ in range(8)]}) >= 1)
q = queue.Queue(maxsize=4)
def producer(base):
    for i in range(100): q.put(base + i)
producers = [threading.Thread(target=producer, args=(b,)) for b in (0, 1000, 2000)]
for t in producers: t.start()
got = sorted(q.get() for _ in range(300))
for t in producers: t.join()
print("queue", len(got), sum(got), q.empty())
"""


@pytest.mark.differential
@covers("clone", "futex", "set_robust_list", "gettid")
def test_python_threading_pool_and_queue_match_linux(linux_debian_oracle, moss_disk):
    out = same_as_linux(linux_debian_oracle, moss_disk, python(PY_THREADS))
    assert out.startswith("threads 42000 1\n")


PY_SUBPROCESS = """
import subprocess
r = subprocess.run(["ls", "/"], capture_output=True, text=True)
print(r.returncode, r.stdout.split())
r = subprocess.run("echo $((6 * 7)) >&2; exit 3", shell=True, capture_output=True, text=True)
print(r.returncode, repr(r.stdout), repr(r.stderr))
p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
print(p.communicate(b"through a pipe\\n"), p.returncode)
"""


@pytest.mark.differential
@covers("clone", "execve", "pipe2", "wait4")
def test_python_subprocess_matches_linux(linux_debian_oracle, moss_disk):
    out = same_as_linux(linux_debian_oracle, moss_disk, python(PY_SUBPROCESS))
    assert "'bin'" in out and "3 '' '42\\n'" in out


PY_ASYNCIO = """
import asyncio
async def nap(i):
    await asyncio.sleep(0.02 * (5 - i))
    return i
async def main():
    child = await asyncio.create_subprocess_exec("sh", "-c", "echo from-child; exit 4",
                                                 stdout=asyncio.subprocess.PIPE)
    naps = asyncio.gather(*(nap(i) for i in range(5)))
    out, _ = await child.communicate()
    print("gather", await naps)
    print("subprocess", out.decode().strip(), child.returncode)
    q = asyncio.Queue()
    async def producer():
        for i in range(20):
            await q.put(i)
            await asyncio.sleep(0)
    done, _ = await asyncio.wait([asyncio.create_task(producer())])
    print("queue", sum([q.get_nowait() for _ in range(q.qsize())]), len(done))
asyncio.run(main())
"""


@pytest.mark.differential
@covers("epoll_pwait", "socketpair", "clone", "wait4")
def test_python_asyncio_gather_and_subprocess_match_linux(linux_debian_oracle, moss_disk):
    """asyncio's event loop: epoll, a socketpair it wakes itself through, a child watcher."""
    out = same_as_linux(linux_debian_oracle, moss_disk, python(PY_ASYNCIO))
    assert "gather [0, 1, 2, 3, 4]\nsubprocess from-child 4\n" in out


PY_MULTIPROCESSING = """
import multiprocessing
def square(x):
    return x * x
if __name__ == "__main__":
    with multiprocessing.Pool(4) as pool:
        print(pool.map(square, range(40)))
        print(sorted(pool.imap_unordered(square, range(10))))
"""


@pytest.mark.differential
@covers("clone", "futex", "mmap")
def test_python_multiprocessing_pool_matches_linux(linux_debian_oracle, moss_disk):
    """Pool's task queues are guarded by POSIX semaphores in /dev/shm: futexes on a shared
    file mapping, woken across processes."""
    same_as_linux(linux_debian_oracle, moss_disk, python(PY_MULTIPROCESSING))


# ------------------------------------------------------------------ coreutils and friends

LS_FIXED = """
set -e
mkdir -p /tmp/top/fixed/sub && cd /tmp/top/fixed
printf 'abc\\n' > a; printf 'hello world\\n' > sub/b; ln -s a link; mkfifo fifo; chmod 640 a
ln -s "/$(printf 'long%.0s' {1..40})" longlink
touch -h -d '2024-01-02 03:04:05' a sub/b sub fifo link longlink . ..
TZ=UTC ls -la --time-style=full-iso /tmp/top/fixed
TZ=UTC ls -lai --time-style=+%s /tmp/top/fixed/sub | sed 's/^ *[0-9]* /INO /'
ls -1F /tmp/top/fixed
"""


@pytest.mark.differential
@covers("newfstatat", "getdents64", "readlinkat", "utimensat", "lgetxattr", "getxattr")
def test_ls_la_of_a_fixed_directory_matches_linux(linux_debian_oracle, moss_disk):
    out = same_as_linux(linux_debian_oracle, moss_disk, bash(LS_FIXED))
    assert "link -> a" in out


SORT = """
seq 1 300000 | awk '{print ($1 * 7919) % 1000003, $1}' > /tmp/big
sort --parallel=4 -S 1M -n /tmp/big | md5sum
sort -n /tmp/big | md5sum
sort --parallel=4 -k2,2nr /tmp/big | head -3
wc -l < /tmp/big
"""


@pytest.mark.differential
@covers("clone", "futex", "openat", "write")
def test_sort_parallel_of_a_large_file_matches_linux(linux_debian_oracle, moss_disk):
    out = same_as_linux(linux_debian_oracle, moss_disk, bash(SORT))
    first, second = out.splitlines()[:2]
    assert first == second


# Linux 6.1's tmpfs keeps no user.* attributes: this works on the image's ext4.
CP_XATTRS = """
set -e
rm -rf /root/xattr-src /root/xattr-dst
mkdir -p /root/xattr-src/d && cd /root/xattr-src
printf 'data\\n' > f; ln -s f l
setfattr -n user.color -v blue f
setfattr -n user.empty f
setfattr -n user.dir -v 0x00ff10 d
python3 -c 'import os; os.setxattr("f", "user.big", b"x" * 3000); print(sorted(os.listxattr("f")))'
touch -h -d '2024-05-06 07:08:09' f l d .
cp -a /root/xattr-src /root/xattr-dst
cd /root/xattr-dst
getfattr -d -m - --absolute-names -e hex f d | grep -v user.big
getfattr -n user.big --only-values f | wc -c
TZ=UTC stat -c '%n %A %s %y' f l d .
cmp /root/xattr-src/f f && echo same-data
rm -rf /root/xattr-src /root/xattr-dst
"""


@pytest.mark.differential
@covers("setxattr", "lsetxattr", "getxattr", "lgetxattr", "listxattr", "llistxattr", "fsetxattr",
        "flistxattr", "fgetxattr", "utimensat")
def test_cp_a_keeps_xattrs_like_linux(linux_debian_oracle, moss_disk):
    out = same_as_linux(linux_debian_oracle, moss_disk, bash(CP_XATTRS))
    assert 'user.color=0x626c7565' in out and "same-data" in out


FIND_XARGS = """
set -e
mkdir -p /tmp/tree && cd /tmp/tree
for d in a b c; do mkdir -p $d/deep; for i in 1 2 3; do printf "%s-%s\\n" $d $i > $d/deep/f$i.txt; done; done
printf 'with space\\n' > 'b/has space.txt'
find . -type f -print0 | sort -z | xargs -0 wc -l
find . -name '*.txt' -print0 | sort -z | xargs -0 -n2 cat
find . -type d -empty -o -type f -size -2c -print | sort
find /tmp/tree -mindepth 2 -type d | sort | xargs -I{} sh -c 'echo {}: $(ls {} | wc -l)'
"""


@pytest.mark.differential
@covers("getdents64", "newfstatat", "openat", "execve", "wait4")
def test_find_and_xargs_match_linux(linux_debian_oracle, moss_disk):
    out = same_as_linux(linux_debian_oracle, moss_disk, bash(FIND_XARGS))
    assert "with space" in out


PS_THREADS = """
import os, subprocess, threading
go = threading.Event()
threads = [threading.Thread(target=go.wait) for _ in range(3)]
for t in threads: t.start()
out = subprocess.run(["ps", "-eLf"], capture_output=True, text=True).stdout.splitlines()
print(out[0].split())
mine = [line.split(None, 9) for line in out[1:] if line.split()[1] == str(os.getpid())]
print("lines for this process", len(mine))
print("NLWP", sorted({m[5] for m in mine}))
lwps = sorted(int(m[3]) for m in mine)
print("distinct LWPs", len(set(lwps)) == len(lwps), "leader's LWP is the PID", lwps[0] == os.getpid())
print("LWPs are the threads' ids", sorted(t.native_id for t in threads) == lwps[1:])
print("CMD", sorted({m[9].split()[0] for m in mine}))
go.set()
for t in threads: t.join()
"""


@pytest.mark.differential
@covers("getdents64", "openat", "read")
def test_ps_eLf_lists_a_threaded_process_threads_like_linux(linux_debian_oracle, moss_disk):
    out = same_as_linux(linux_debian_oracle, moss_disk, python(PS_THREADS))
    assert "lines for this process 4\nNLWP ['4']\n" in out


TOP = """
set -o pipefail
top -b -n1 -w 200 > /tmp/top.out
sed -n '1,5s/^\\([^:]*:\\).*/\\1/p' /tmp/top.out | sed 's/^top - .*/top -/'
sed -n '7p' /tmp/top.out | tr -s ' ' | sed 's/^ //'
awk 'NR > 7 && $NF == "top"' /tmp/top.out | wc -l
"""


@pytest.mark.differential
@covers("getdents64", "openat", "read", "sysinfo")
def test_top_batch_prints_its_header_like_linux(linux_debian_oracle, moss_disk):
    out = same_as_linux(linux_debian_oracle, moss_disk, bash(TOP))
    assert out.splitlines()[:2] == ["top -", "Tasks:"]


BASH_JOBS = """
set -m
coproc UPPER { tr a-z A-Z; }
echo "hello coproc" >&"${UPPER[1]}"
exec {UPPER[1]}>&-
read -r line <&"${UPPER[0]}"
echo "coproc: $line"
wait $UPPER_PID; echo "coproc status: $?"
sleep 5 & a=$!
(sleep 5; exit 3) & b=$!
jobs | tr -s ' '
jobs -p | wc -l
kill -STOP $a; sleep 1; jobs %1 | tr -s ' '
kill -CONT $a; sleep 1; jobs %1 | tr -s ' '; kill $a
wait $a; echo "a: $?"
wait $b; echo "b: $?"
jobs; echo "jobs left: $(jobs | wc -l)"
diff <(printf '1\\n2\\n3\\n') <(printf '1\\n3\\n'); echo "diff: $?"
paste <(seq 3) <(seq 4 6)
while read -r n; do echo "read $n"; done < <(printf 'x\\ny\\n')
exec 3< <(echo from-fd-3); cat <&3
"""


@pytest.mark.differential
@covers("pipe2", "clone", "wait4", "setpgid", "kill", "dup3")
def test_bash_coproc_job_control_and_process_substitution_match_linux(linux_debian_oracle, moss_disk):
    out = same_as_linux(linux_debian_oracle, moss_disk, bash(BASH_JOBS))
    assert "coproc: HELLO COPROC\n" in out and "b: 3\n" in out


TEXT_TOOLS = r"""
gawk 'BEGIN { printf "%.3f %d %s\n", atan2(1, 1) * 4, 2^40, toupper("x"); srand(1); print int(rand() * 1000) }'
echo abc | sed -E 's/(b)/[\1]/'; printf 'b\na\nb\n' | sort | uniq -c | tr -s ' '
grep -rc root /etc/passwd /etc/group | sort; grep -E -o '[0-9]+' <<< 'a1b22c333' | paste -sd,
diff -u <(seq 5) <(seq 0 4) | tail -n +3; cmp <(echo a) <(echo b); echo "cmp: $?"
less -FX /etc/hostname; echo paged | less -F; tac <(seq 3) | paste -sd' '; rev <<< abc; column -t <<< 'a bb'
timeout 0.3 sleep 5; echo "timeout: $?"
(sleep 0.1; kill -TERM $$) & trap 'echo trapped' TERM; wait; echo waited
xargs -P4 -n1 sh -c 'echo $0' <<< '1 2 3 4' | sort | paste -sd' '
seq 10000 | split -l 3000 - /tmp/sp. && wc -l /tmp/sp.* | tail -1; rm /tmp/sp.*
dd if=/dev/zero bs=1M count=8 2>/dev/null | md5sum; head -c 100000 /dev/urandom | wc -c
truncate -s 5G /tmp/sparse && stat -c '%s %b' /tmp/sparse && rm /tmp/sparse
killall -l | wc -w; pstree -V 2>&1 | head -1 | cut -d' ' -f1
"""


@pytest.mark.differential
@covers("pipe2", "clone", "execve", "wait4", "kill", "ftruncate", "newfstatat")
def test_text_tools_and_shell_plumbing_match_linux(linux_debian_oracle, moss_disk):
    out = same_as_linux(linux_debian_oracle, moss_disk, bash(TEXT_TOOLS))
    assert "trapped\nwaited\n" in out and "timeout: 124\n" in out


PY_STDLIB = """
import bz2, decimal, fractions, hashlib, lzma, mmap, os, resource, signal, sqlite3, tempfile, threading, time, zlib
data = b"moss" * 1000
print(hashlib.sha256(data).hexdigest()[:16], len(zlib.compress(data)), len(bz2.compress(data)),
      len(lzma.compress(data)) > 0, decimal.Decimal(1) / 7, fractions.Fraction(3, 9))
db = sqlite3.connect("/tmp/t.db")
db.execute("create table t(x)")
db.executemany("insert into t values(?)", [(i,) for i in range(1000)])
db.commit()
print(db.execute("select sum(x), count(*) from t").fetchone())
f = tempfile.TemporaryFile()
f.write(b"x" * 10000); f.flush()
m = mmap.mmap(f.fileno(), 0)
m.resize(20000)
print(len(m), m[9999:10001], os.fstat(f.fileno()).st_size)
signal.signal(signal.SIGUSR1, lambda *a: print("got", a[0]))
os.kill(os.getpid(), signal.SIGUSR1)
signal.signal(signal.SIGALRM, lambda *a: print("alarm"))
signal.setitimer(signal.ITIMER_REAL, 0.05)
time.sleep(0.3)
print(os.cpu_count(), os.sched_getaffinity(0), resource.getrlimit(resource.RLIMIT_NOFILE))
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r); os.write(w, b"child"); os._exit(7)
os.close(w)
print(os.read(r, 10), os.waitpid(pid, 0)[1] >> 8)
barrier = threading.Barrier(5)
seen = []
def meet():
    barrier.wait(); seen.append(threading.get_native_id() != os.getpid())
threads = [threading.Thread(target=meet) for _ in range(4)]
for t in threads: t.start()
barrier.wait()
for t in threads: t.join()
print(sorted(seen))
"""


@pytest.mark.differential
@covers("mremap", "mmap", "ftruncate", "kill", "setitimer", "rt_sigaction", "sched_getaffinity",
        "prlimit64", "clone", "futex")
def test_python_stdlib_sqlite_mmap_signals_and_fork_match_linux(linux_debian_oracle, moss_disk):
    out = same_as_linux(linux_debian_oracle, moss_disk, python(PY_STDLIB))
    assert "(499500, 1000)" in out and "got 10\nalarm\n" in out


UMOUNT_ROOT = """
/bin/busybox umount /; echo "umount /: $?"
grep ' / ' /proc/mounts | cut -d' ' -f4
touch /ro-test 2>&1 | sed 's/^.*: //'
/bin/busybox mount -o remount,rw /; echo "remount rw: $?"
grep ' / ' /proc/mounts | cut -d' ' -f4
touch /ro-test && echo "written again"; rm -f /ro-test
"""


@pytest.mark.differential
@covers("umount2", "mount")
def test_umount_of_the_root_makes_it_read_only_like_linux(linux_debian_oracle, moss_disk):
    """What BusyBox's `umount -a -r` does to / at shutdown: do_umount's special case for the
    caller's root remounts its filesystem read-only and succeeds."""
    out = same_as_linux(linux_debian_oracle, moss_disk, bash(UMOUNT_ROOT))
    assert out.startswith("umount /: 0\nro,relatime\nRead-only file system\nremount rw: 0\n")


# ------------------------------------------------------------------ just boot-debian

PROMPT = r"root@moss:[^\r\n#]*# "


@pytest.mark.differential
@covers("ioctl", "setsid", "clone", "execve")
def test_boot_debian_reaches_a_bash_prompt_where_python_ps_and_ls_work(linux_debian_oracle, moss_disk):
    """What `just boot-debian` runs: BusyBox init from the image's inittab starts bash as the
    console's login shell."""
    ls_out, _, status = linux_debian_oracle.run_argv(["ls", "-la", "/etc/debian_version", "/bin/sh"])
    assert status == 0
    ps_header = linux_debian_oracle.run_argv(["ps", "-eLf"])[0].splitlines()[0]
    shell = pexpect.spawn(sys.executable, ["-m", "moss_host.cli", "boot", "--disk", str(moss_disk)],
                          cwd=str(REPO), timeout=120, encoding="utf-8", codec_errors="replace",
                          dimensions=(40, 200))
    try:
        shell.expect(PROMPT)
        shell.sendline("bind 'set enable-bracketed-paste off'; echo $BASH_VERSION $0")
        shell.expect(r"[\r\n]5\.2\S* -/bin/bash\r\n")        # BusyBox init's "-" login shell
        shell.expect(PROMPT)
        shell.sendline("python3 -c 'import threading; t = threading.Thread(target=print, args=(6 * 7,));"
                       " t.start(); t.join()'")
        shell.expect(r"[\r\n]42\r\n")
        shell.expect(PROMPT)
        shell.sendline("stat -f -c %T /tmp /run | paste -sd' '")    # inittab's mount -a: fstab
        shell.expect(r"\ntmpfs tmpfs\r\n")
        shell.expect(PROMPT)
        shell.sendline("ls -la /etc/debian_version /bin/sh")
        for line in ls_out.splitlines():
            shell.expect_exact(line + "\r\n")
        shell.expect(PROMPT)
        shell.sendline("ps -eLf")
        shell.expect_exact(ps_header + "\r\n")
        shell.expect(r"root +1 +0 +1 .*init\r\n")
        shell.expect(r"root .* -/bin/bash\r\n")
        shell.expect(PROMPT)
        shell.sendline("/bin/busybox poweroff -f")
        shell.expect(pexpect.EOF)
    finally:
        shell.close()
    assert shell.exitstatus == 0
