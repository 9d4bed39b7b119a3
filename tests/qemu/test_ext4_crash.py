"""kill -9 of moss-host during a file-churn workload leaves an ext4 image that recovers.

Each trial boots moss-py on the same disk image (so every boot after the first mounts an
image a crash left, replaying its journal), runs tests/programs/churn.c, and kills the
whole process group (moss-host and its QEMU) with SIGKILL at a random moment, sometimes
before the workload even starts (during the boot's journal replay). Then, on copies:
  - e2fsck -fy recovers the journal and fixes nothing else; e2fsck -fn is then clean;
  - every file whose fsync returned (churn's "W" lines, not superseded by an "X") has
    exactly its content, read by e2fsprogs and by this driver's own replay;
  - for a few trials, Linux mounts the crashed image (its jbd2 replays the log) and reads
    the same contents.
MOSS_CRASH_TRIALS sets the number of trials (default 10; `just crash-test 100`).
"""
from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from moss_host.errors import Errno
from moss_host.fs.blockdev import BlockDevice
from moss_host.fs.drivers.ext4 import mount_ext4

from .conftest import PROGRAMS, REPO, process_gone, qemu_started_by, wait_until
from .linux_fs_oracle import linux_with_files

DISK = REPO / "build" / "rootfs.ext4"
TRIALS = int(os.environ.get("MOSS_CRASH_TRIALS", "10"))
LINUX_TRIALS = 2                        # crashed images Linux mounts too (one VM at the end)
DIR = "/root/churn"


def pattern(seed: int, length: int) -> bytes:
    return bytes((seed * 7 + i * 13 + (i >> 8)) & 0xFF for i in range(length))


class Durable:
    """What churn's output promises: name -> (length, seed) of every file whose last
    fsync returned after its last change began."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[int, int]] = {}

    def feed(self, output: bytes) -> None:
        for line in output.decode(errors="replace").split("\n")[:-1]:     # a torn last line says nothing
            words = line.split()
            if len(words) == 2 and words[0] == "X":
                self.files.pop(words[1], None)
            elif len(words) == 4 and words[0] == "W":
                self.files[words[1]] = (int(words[2]), int(words[3]))
            elif words and words[0] == "FAIL":
                pytest.fail(f"churn: {line}")


def churn_disk(tmp_path: Path) -> Path:
    if not DISK.exists():
        pytest.fail("build/rootfs.ext4 is missing: run `just build`")
    img = tmp_path / "disk.ext4"
    shutil.copy(DISK, img)
    for req in (f"write {PROGRAMS / 'churn'} /churn", "sif /churn mode 0100755"):
        subprocess.run(["debugfs", "-w", "-R", req, str(img)], capture_output=True, check=True)
    return img


def run_and_kill(img: Path, seed: int, rng: random.Random) -> bytes:
    """Boot moss-py on img running churn, SIGKILL its process group at a random moment;
    returns what it printed. QEMU must die with moss-host."""
    cmd = [sys.executable, "-m", "moss_host.cli", "run", "--disk", str(img), "--", "/churn", DIR, str(seed)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)
    out = bytearray()
    assert proc.stdout is not None
    stdout = proc.stdout
    reader = threading.Thread(target=lambda: [out.extend(chunk) for chunk in iter(lambda: stdout.read1(4096), b"")],
                              daemon=True)
    reader.start()
    if rng.random() < 0.15:                 # during boot and the mount's journal replay
        time.sleep(rng.uniform(0.0, 1.5))
    else:
        assert wait_until(lambda: b"START" in out or proc.poll() is not None, 120), bytes(out)[-2000:]
        assert proc.poll() is None, bytes(out)[-2000:]
        time.sleep(rng.uniform(0.05, 5.0))
    qemus = qemu_started_by(proc.pid)
    assert qemus or proc.poll() is not None or b"START" not in out, "no QEMU under moss-host"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    reader.join(10)
    assert wait_until(lambda: all(process_gone(q) for q in qemus), 10), f"QEMU {qemus} outlived moss-host"
    return bytes(out)


def e2fsck_recovers(img: Path) -> None:
    """e2fsck -fy replays the journal and changes nothing else; -fn is then clean."""
    r = subprocess.run(["e2fsck", "-fy", str(img)], capture_output=True, text=True)
    out = r.stdout + r.stderr
    assert r.returncode in (0, 1), out
    allowed = re.compile(r"^(Pass \d[A-Z]?: .*|e2fsck \d.*|\S+: (recovering journal|"
                         r"\d+/\d+ files .*|\*+ FILE SYSTEM WAS MODIFIED \*+)|)$")
    odd = [line for line in out.splitlines() if not allowed.match(line)]
    assert not odd, out
    r = subprocess.run(["e2fsck", "-fn", str(img)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def check_with_debugfs(img: Path, durable: Durable, work: Path) -> None:
    out = work / "dump"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    cmds = work / "cmds"
    cmds.write_text("".join(f"dump {DIR}/{name} {out / name}\n" for name in durable.files))
    subprocess.run(["debugfs", "-f", str(cmds), str(img)], capture_output=True, check=True)
    for name, (length, seed) in durable.files.items():
        got = (out / name).read_bytes() if (out / name).exists() else None
        assert got == pattern(seed, length), f"{name}: fsync returned for {length} bytes; e2fsck's image has " \
                                             f"{None if got is None else len(got)}"


def check_with_moss(img: Path, durable: Durable) -> None:
    """This driver's own replay (a read-write mount), the files, then a clean unmount."""
    dev = BlockDevice(str(img))
    fs = mount_ext4(dev)
    if durable.files:       # a first trial killed before churn ran has no DIR yet, and nothing to check
        d = fs.root.lookup(DIR.split("/")[1].encode()).lookup(DIR.split("/")[2].encode())
        for name, (length, seed) in durable.files.items():
            f = d.lookup(name.encode())
            assert f.read(0, f.size + 1) == pattern(seed, length), name
    fs.unmount()
    dev.close()
    r = subprocess.run(["e2fsck", "-fn", str(img)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def check_with_linux(crashed: list[tuple[Path, Durable]]) -> None:
    files = {f"/crash{i}.ext4": img for i, (img, _) in enumerate(crashed)}
    with linux_with_files(files, programs=False) as vm:     # (two 128 MiB images of random data)
        for i, (_, durable) in enumerate(crashed):
            script = (f"mkdir -p /mnt/c && losetup /dev/loop0 /crash{i}.ext4 && mount -t ext4 /dev/loop0 /mnt/c && "
                      f"cd /mnt/c{DIR} && md5sum {' '.join(durable.files) or '/dev/null'}; cd /; umount /mnt/c; "
                      f"losetup -d /dev/loop0; rm /crash{i}.ext4; dmesg -c | grep -iE 'EXT4-fs error|JBD2|recovery'")
            out, err, _ = vm.run3(script)
            assert "recovery complete" in out or "recovery" not in out, out + err
            sums = {line.split()[1]: line.split()[0] for line in out.splitlines() if len(line.split()) == 2}
            for name, (length, seed) in durable.files.items():
                assert sums.get(name) == hashlib.md5(pattern(seed, length)).hexdigest(), (name, out, err)
            assert "EXT4-fs error" not in out and "JBD2" not in out, out


@pytest.mark.slow
def test_kill_9_during_file_churn_loses_nothing_fsynced(tmp_path):
    img = churn_disk(tmp_path)
    rng = random.Random(int(os.environ.get("MOSS_CRASH_SEED", "0")) or None)
    durable = Durable()
    linux: list[tuple[Path, Durable]] = []
    linux_at = set(rng.sample(range(TRIALS), min(LINUX_TRIALS, TRIALS)))
    for trial in range(TRIALS):
        seed = rng.randrange(1 << 30)
        output = run_and_kill(img, seed, rng)
        assert b"kernel bug" not in output and b"Traceback" not in output, output[-3000:]
        durable.feed(output)
        snapshot = Durable()
        snapshot.files = dict(durable.files)
        a, b = tmp_path / "a.ext4", tmp_path / "b.ext4"
        shutil.copy(img, a)
        shutil.copy(img, b)
        if trial in linux_at:
            shutil.copy(img, tmp_path / f"linux{trial}.ext4")
            linux.append((tmp_path / f"linux{trial}.ext4", snapshot))
        try:
            e2fsck_recovers(a)
            check_with_debugfs(a, durable, tmp_path)
            check_with_moss(b, durable)
        except (AssertionError, Errno) as e:       # Errno: this driver could not mount or find a file
            keep = tmp_path / f"failed-trial{trial}.ext4"
            shutil.copy(img, keep)
            raise AssertionError(f"trial {trial} (churn seed {seed}); image kept at {keep}: {e}") from None
        print(f"trial {trial}: seed {seed}, {len(durable.files)} fsynced files intact")
    if linux:
        check_with_linux(linux)


def test_an_idle_system_commits_within_the_commit_interval(tmp_path):
    """Data never synced is on the image within ext4's 5 s commit interval (the periodic commit)."""
    img = churn_disk(tmp_path)
    cmd = [sys.executable, "-m", "moss_host.cli", "run", "--disk", str(img), "--", "/bin/sh", "-c",
           "echo idle-data > /root/idle; echo written; sleep 60"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"written\n"
    time.sleep(7)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    e2fsck_recovers(img)
    got = subprocess.run(["debugfs", "-R", "cat /root/idle", str(img)], capture_output=True).stdout
    assert got == b"idle-data\n"
