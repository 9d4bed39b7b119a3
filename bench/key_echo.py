"""Key echo latency: a key pressed at a shell prompt -> its echo on the screen.

The path a person feels when typing: the key goes into the terminal, the kernel's tty
wakes the shell (BusyBox ash, reading in raw mode for its line editor), the shell writes
the character back, the kernel puts it on the terminal. One sample = one key: write one
byte, read until it comes back; then a DEL erases it (and its echo is awaited) so the
line stays short. The figure is the median over the samples, after WARMUP keys that are
not counted. On this shared 2-core machine other people's QEMUs come and go: samples
fall in two groups (idle host: a fraction of a millisecond; busy host: a few ms), and the
median with enough samples is the honest summary; min/p90/max are kept in the JSON.

* moss-py: `moss-host boot --init /bin/sh` in a pseudo-terminal made here, so moss-host's
  console drives a real host terminal exactly as under `just boot`; we write the key to
  the pty master and time until the echo is readable there.
* Linux in QEMU: the bench's Linux VM (tests/qemu/linux_oracle.py), over its serial
  console (PL011, QEMU's stdio pipe). That console runs with `-echo`, under which ash
  reads lines with plain fgets and echoes nothing, so the measurement turns echo on for
  its duration (ash then uses its line editor, as on moss-py) and restores `-echo` after.
  The oracle's console is read by pexpect's reader thread (PopenSpawn); we take its
  queue with a blocking get. (LinuxOracle._read_until polls that queue without
  blocking, so the reader thread waits for the GIL, up to Python's 5 ms switch
  interval: fine for commands, but it could add milliseconds to a key here.)
"""

from __future__ import annotations

import os
import select
import statistics
import time

KEY, DEL = b"x", b"\x7f"
WARMUP = 5                      # keys typed first and not counted (the shell's first line-editing work)


class EchoError(RuntimeError):
    pass


def summarize(samples_ns: list[float]) -> dict:
    s = sorted(samples_ns)
    return {"median_ns": statistics.median(s), "min_ns": s[0], "max_ns": s[-1],
            "p90_ns": s[min(len(s) - 1, int(len(s) * 0.9))], "samples": len(s)}


# ---------------------------------------------------------------------- moss-py

def _read_until(fd: int, needle: bytes, deadline: float, after: bytes = b"") -> bytes:
    """Read the pty master until needle appears (after `after`, if given); what was read."""
    got = bytearray()
    while True:
        start = got.find(after)
        if start >= 0 and needle in got[start + len(after):]:
            return bytes(got)
        left = deadline - time.monotonic()
        if left <= 0:
            raise EchoError(f"timed out waiting for {needle!r}; got {bytes(got[-200:])!r}")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError as e:            # EIO: moss-host exited
                raise EchoError(f"console closed ({e}); got {bytes(got[-200:])!r}") from None
            if not data:
                raise EchoError("console closed")
            got += data


def _one_key(fd: int, timeout: float) -> float:
    t0 = time.perf_counter_ns()
    os.write(fd, KEY)
    _read_until(fd, KEY, time.monotonic() + timeout)
    dt = time.perf_counter_ns() - t0
    os.write(fd, DEL)
    _read_until(fd, b"\x08", time.monotonic() + timeout)       # the erase echoes a backspace
    return float(dt)


def measure_moss(moss_cmd: list[str], image: str, samples: int, cwd: str,
                 boot_timeout: float = 120.0, key_timeout: float = 10.0) -> dict:
    """Boot moss-py with a shell on a fresh pty; time `samples` key echoes at its prompt."""
    import pexpect

    child = pexpect.spawn(moss_cmd[0], [*moss_cmd[1:], "boot", "--init", "/bin/sh", "--image", image],
                          cwd=cwd, dimensions=(24, 80), timeout=boot_timeout)
    try:
        fd = child.child_fd
        deadline = time.monotonic() + boot_timeout
        # The quotes keep the echoed command line from matching the marker.
        os.write(fd, b"PS1='@P> '; echo @@RE''ADY@@\r")
        _read_until(fd, b"@P> ", deadline, after=b"@@READY@@")
        out = [_one_key(fd, key_timeout) for _ in range(WARMUP + samples)]
        return summarize(out[WARMUP:])
    finally:
        child.close(force=True)


# ---------------------------------------------------------------------- Linux in QEMU

def measure_linux(vm, samples: int, key_timeout: float = 10.0) -> dict:
    """Time key echoes at the Linux VM's console shell (a started LinuxOracle)."""
    tag = vm._next_nonce()
    vm._send(f"stty echo; PS1='@P> '; printf '@@E{tag}@@\\n'\n")
    vm._read_until(f"@@E{tag}@@\n".encode(), time.monotonic() + 30)
    vm._read_until(b"@P> ", time.monotonic() + 30)
    vm._buf.clear()
    out = []
    try:
        for _ in range(WARMUP + samples):
            t0 = time.perf_counter_ns()
            vm._send(KEY.decode())
            _linux_read_until(vm, KEY, time.monotonic() + key_timeout)
            out.append(float(time.perf_counter_ns() - t0))
            vm._send(DEL.decode())
            _linux_read_until(vm, b"\x08", time.monotonic() + key_timeout)
    finally:
        # Back to the oracle's console settings: no echo, empty prompt; resync on a marker.
        if vm.running:
            tag = vm._next_nonce()
            vm._send(f"\x15stty -echo; PS1=''; printf '@@R{tag}@@\\n'\n")
            vm._read_until(f"@@R{tag}@@\n".encode(), time.monotonic() + 30)
            vm._buf.clear()
    return summarize(out[WARMUP:])


def _linux_read_until(vm, needle: bytes, deadline: float) -> None:
    """Console bytes into vm._buf until needle (then drop through it), blocking on the
    reader thread's queue."""
    from queue import Empty
    queue = vm._child._read_queue
    while True:
        i = vm._buf.find(needle)
        if i >= 0:
            del vm._buf[:i + len(needle)]
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise EchoError(f"timed out waiting for {needle!r}; got {bytes(vm._buf[-200:])!r}")
        try:
            data = queue.get(timeout=left)
        except Empty:
            continue
        if data is None:
            raise EchoError("the Linux VM's console closed")
        vm._buf += data
