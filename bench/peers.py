"""The systems under comparison.  Each peer has ``run(workload, args) ->
Result``; a peer that cannot run a workload says why (``ok=False``,
``reason="not run: ..."``), it never drops it silently.

* LinuxInQemu: Debian's arm64 kernel booted in the same QEMU as moss-py,
  one VM reused for every command (``kaslr=False`` -> ``nokaslr``).
* QemuUser: ``qemu-aarch64 PROGRAM ARGS`` on the host: this machine's kernel
  answers the syscalls, user code runs in the same TCG.
* MossPy: ``moss-host run --image build/bench/moss-initramfs.cpio -- /bench/...``.
"""

from __future__ import annotations

import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import build, key_echo
from bench.workloads import Workload

BENCH_RE = re.compile(r"^BENCH name=(\S+) iters=(\d+) ns_per_op=([0-9.]+)(.*)$", re.M)
EXEC_REASON = "not run: qemu-aarch64 cannot follow execve of an aarch64 binary"


@dataclass
class Result:
    ok: bool
    ns_per_op: float | None = None
    reason: str | None = None
    wall_s: float | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def not_run(cls, why: str, **kw) -> "Result":
        why = why if why.startswith("not run") else f"not run: {why}"
        return cls(False, reason=why, **kw)


def parse_bench(text: str, name: str) -> Result | None:
    """The BENCH line for ``name`` in a program's output, if any."""
    for m in BENCH_RE.finditer(text):
        if m.group(1) == name:
            extra = dict(kv.split("=", 1) for kv in m.group(4).split() if "=" in kv)
            extra["iters"] = int(m.group(2))
            return Result(True, float(m.group(3)), extra=extra)
    return None


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


def _reason(err: str, rc: int) -> str:
    """A one-line why for a failed run: the exception of a Python traceback,
    else the first line of stderr, with the exit status."""
    lines = [l.strip() for l in err.splitlines() if l.strip()]
    if any(l.startswith("Traceback (most recent call last)") for l in lines):
        line = lines[-1]
    else:
        line = lines[0] if lines else ""
    return f"exit status {rc}: {line[:200]}" if line else f"exit status {rc}"


def _fill(args, tmp: str, bench: str) -> list[str]:
    return [a.format(tmp=tmp, bench=bench) for a in args]


class Peer:
    key = "?"
    label = "?"

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def describe(self) -> dict:
        return {"key": self.key, "label": self.label}

    def run(self, workload: Workload, args) -> Result:  # pragma: no cover
        raise NotImplementedError


class LinuxInQemu(Peer):
    """Debian's kernel in qemu-system-aarch64; ``kaslr=False`` is the
    reference configuration (nokaslr: no KPTI)."""

    def __init__(self, kaslr: bool = False, timeout: float = 120.0, smp: int = 1):
        self.kaslr = kaslr
        self.smp = smp                      # -smp N
        self.key = ("linux_kaslr" if kaslr else "linux_nokaslr") + (f"_smp{smp}" if smp > 1 else "")
        self.label = ("Linux/QEMU (default, KASLR+KPTI)" if kaslr else "Linux/QEMU (nokaslr)") + \
            (f" -smp {smp}" if smp > 1 else "")
        self.timeout = timeout
        self.vm = None
        self._boot_reported = False
        self._broken: str | None = None

    def _oracle(self):
        if self.vm is None:
            lo = build.oracle_module()
            self.vm = lo.LinuxOracle(build.guest_files(), kaslr=self.kaslr, name="bench-linux", smp=self.smp)
        return self.vm

    def start(self) -> None:
        if self._broken is None:
            try:
                self._oracle().start()
            except Exception as e:
                # One failed boot is enough: every workload reports it.
                self._broken = f"boot failed: {e}"[:300]
                raise

    def stop(self) -> None:
        if self.vm is not None:
            self.vm.stop()

    def describe(self) -> dict:
        d = super().describe()
        try:
            d["kernel"] = build.oracle_module().kernel_version()
            d["qemu"] = " ".join(shlex.quote(a) for a in self._oracle().qemu_argv())
        except Exception as e:
            d["error"] = str(e)[:300]
        return d

    def run(self, workload: Workload, args) -> Result:
        if workload.kind in ("trap", "parallel"):
            return Result.not_run("moss-py only")
        if self._broken:
            return Result.not_run(self._broken)
        lo = build.oracle_module()
        vm = self._oracle()
        try:
            if workload.kind == "echo":
                return _echo_result(lambda: key_echo.measure_linux(vm.start(), int(args[0])),
                                    (lo.OracleError, key_echo.EchoError))
            if workload.kind == "boot":
                # The first sample is the boot that started this VM; later
                # samples reboot.
                if self._boot_reported or not vm.running:
                    vm.restart()
                self._boot_reported = True
                return Result(True, vm.boot_seconds * 1e9, wall_s=vm.boot_seconds)
            vm.start()
            argv = _fill(args, "/tmp", "/bench")
            if workload.kind == "script":
                cmd = ["/bin/sh", f"/bench/{workload.prog}", *argv]
            else:
                cmd = [f"/bench/{workload.prog}", *argv]
            t0 = time.monotonic()
            out, status = vm.run(" ".join(shlex.quote(c) for c in cmd), timeout=self.timeout)
            wall = time.monotonic() - t0
        except lo.OracleError as e:
            return Result.not_run(f"failed: {e}"[:300])
        res = parse_bench(out, workload.name)
        if status != 0 or res is None:
            return Result.not_run(f"failed: exit status {status}: {_first_line(out)}")
        res.wall_s = wall
        return res


class QemuUser(Peer):
    key = "qemu_user"
    label = "qemu-aarch64 (host kernel)"

    def __init__(self, timeout: float = 120.0):
        self.timeout = timeout
        self.tmp: tempfile.TemporaryDirectory | None = None

    def start(self) -> None:
        build.build_programs()
        if self.tmp is None:
            self.tmp = tempfile.TemporaryDirectory(prefix="bench-qemu-user-")

    def stop(self) -> None:
        if self.tmp is not None:
            self.tmp.cleanup()
            self.tmp = None

    def describe(self) -> dict:
        d = super().describe()
        try:
            d["qemu"] = subprocess.run(["qemu-aarch64", "--version"], capture_output=True,
                                       text=True).stdout.splitlines()[0]
        except (OSError, IndexError):
            d["qemu"] = "qemu-aarch64 not found"
        return d

    def run(self, workload: Workload, args) -> Result:
        if workload.kind in ("trap", "parallel"):
            return Result.not_run("moss-py only")
        if workload.kind == "echo":
            return Result.not_run("no guest kernel, so no console of its own")
        if workload.execs:
            return Result.not_run(EXEC_REASON)
        if shutil.which("qemu-aarch64") is None:
            return Result.not_run("qemu-aarch64 not installed")
        self.start()
        prog = str(build.PROGRAMS / workload.prog)
        argv = _fill(args, self.tmp.name, str(build.PROGRAMS))
        t0 = time.monotonic()
        try:
            r = subprocess.run(["qemu-aarch64", prog, *argv], capture_output=True,
                               text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            return Result.not_run(f"timed out after {self.timeout:.0f} s")
        wall = time.monotonic() - t0
        if workload.kind == "boot":
            if r.returncode != 0:
                return Result.not_run(f"exit status {r.returncode}")
            return Result(True, wall * 1e9, wall_s=wall)
        res = parse_bench(r.stdout, workload.name)
        if r.returncode != 0 or res is None:
            return Result.not_run(f"exit status {r.returncode}: "
                                  f"{_first_line(r.stderr) or _first_line(r.stdout)}")
        res.wall_s = wall
        return res


def moss_host_command() -> list[str] | None:
    """How to invoke moss-host: $MOSS_HOST, the module of this checkout, or the console
    script. The module first, as --moss-base runs its checkout: the console script may be a
    pyenv shim, a bash script that added 40-60 ms to every boot sample of this side only."""
    env = os.environ.get("MOSS_HOST")
    if env:
        return shlex.split(env)
    for mod in ("cli", "__main__"):
        if (build.REPO / "moss_host" / f"{mod}.py").exists():
            return [sys.executable, "-m", "moss_host" if mod == "__main__" else "moss_host.cli"]
    exe = shutil.which("moss-host")
    return [exe] if exe else None


class MossPy(Peer):
    key = "moss"
    label = "moss-py"

    # After this many timeouts in a row moss-py is not tried any more in
    # this run (keeps quick mode bounded while moss-py is young).
    MAX_TIMEOUTS = 2

    def __init__(self, timeout: float = 60.0, cpus: int = 1, base: Path | None = None):
        self.timeout = timeout
        self.cpus = cpus                    # moss-host --cpus N
        if cpus > 1:
            self.key = f"moss_smp{cpus}"
            self.label = f"moss-py --cpus {cpus}"
        # base: another checkout (a worktree of an older revision, its guest stub built) run
        # from its own directory, beside this one in the same run (--moss-base)
        self.cwd = base or build.REPO
        if base is not None:
            self.key, self.label = "moss_base", f"moss-py at {base}"
        self.cmd = moss_host_command() if base is None else [sys.executable, "-m", "moss_host.cli"]
        self.image: Path | None = None
        self._timeouts = 0
        self._broken: str | None = None
        self._timing_flag: bool | None = None

    def start(self) -> None:
        if self.cmd is None:
            self._broken = "moss-host not found (no console script, no moss_host/cli.py)"
            return
        if self.image is None:
            self.image = build.build_moss_image()

    def describe(self) -> dict:
        d = super().describe()
        d["command"] = " ".join(self.cmd) if self.cmd else None
        return d

    def _exec(self, argv: list[str], timeout: float):
        """Run moss-host in its own process group; kill the group on timeout
        (takes its QEMU with it).  Returns (rc, stdout, stderr, wall) or None
        on timeout."""
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, start_new_session=True,
                             cwd=self.cwd)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill(p)
            p.communicate()
            return None
        except BaseException:
            self._kill(p)
            raise
        finally:
            # Anything it left in its group (a QEMU) goes too.
            self._kill(p, only_group=True)
        return p.returncode, out.decode(errors="replace"), err.decode(errors="replace"), \
            time.monotonic() - t0

    @staticmethod
    def _kill(p: subprocess.Popen, only_group: bool = False) -> None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if not only_group:
            try:
                p.kill()
            except ProcessLookupError:
                pass

    def _run_argv(self, guest_argv: list[str], timing: bool = False) -> list[str]:
        flags = ["--timing"] if timing else []
        if self.cpus > 1:
            flags += ["--cpus", str(self.cpus)]
        return [*self.cmd, "run", *flags, "--image", str(self.image), "--", *guest_argv]

    def has_timing_flag(self) -> bool:
        if self._timing_flag is None:
            self._timing_flag = False
            if self.cmd is not None:
                r = self._exec([*self.cmd, "run", "--help"], 30)
                self._timing_flag = bool(r) and "--timing" in (r[1] + r[2])
        return self._timing_flag

    def run(self, workload: Workload, args) -> Result:
        self.start()
        if self._broken:
            return Result.not_run(self._broken)
        argv = _fill(args, "/tmp", "/bench")
        if workload.kind == "trap":
            return self._trap(argv)
        if workload.kind == "parallel":
            return self._parallel(int(argv[0]), int(argv[1]))
        if workload.kind == "echo":
            return _echo_result(lambda: key_echo.measure_moss(self.cmd, str(self.image), int(args[0]),
                                                              str(self.cwd)), (key_echo.EchoError,))
        if workload.kind == "script":
            guest = ["/bin/sh", f"/bench/{workload.prog}", *argv]
        else:
            guest = [f"/bench/{workload.prog}", *argv]
        r = self._exec(self._run_argv(guest), self.timeout)
        if r is None:
            self._timeouts += 1
            if self._timeouts >= self.MAX_TIMEOUTS:
                self._broken = f"skipped after {self._timeouts} timeouts in a row"
            return Result.not_run(f"timed out after {self.timeout:.0f} s")
        self._timeouts = 0
        rc, out, err, wall = r
        if workload.kind == "boot":
            if rc != 0:
                return Result.not_run(_reason(err, rc))
            return Result(True, wall * 1e9, wall_s=wall)
        res = parse_bench(out, workload.name)
        if rc != 0 or res is None:
            return Result.not_run(_reason(err or out, rc))
        res.wall_s = wall
        return res

    def _parallel(self, guests: int, loops: int) -> Result:
        """`guests` runs of a shell loop of `loops` /bin/true started together, then the
        same runs one after another: the cell is the batch's wall time together, the
        extra has it in a row (issue 18: together must be no slower)."""
        script = f"i=0; while [ $i -lt {loops} ]; do /bin/true; i=$((i+1)); done"
        argv = self._run_argv(["/bin/sh", "-c", script])
        cpu0 = _children_cpu_s()
        t0 = time.monotonic()
        procs = [subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.cwd)
                 for _ in range(guests)]
        failed = None
        for p in procs:
            try:
                _, err = p.communicate(timeout=self.timeout * guests)
            except subprocess.TimeoutExpired:
                failed = f"timed out after {self.timeout * guests:.0f} s"
            finally:
                self._kill(p)
            if p.returncode and failed is None:
                failed = _reason(err.decode(errors="replace"), p.returncode)
        together = time.monotonic() - t0
        if failed:
            return Result.not_run(failed)
        cpu1 = _children_cpu_s()
        t0 = time.monotonic()
        for _ in range(guests):
            r = self._exec(argv, self.timeout)
            if r is None or r[0] != 0:
                return Result.not_run("a guest run in a row failed" if r else "timed out")
        in_a_row = time.monotonic() - t0
        cpu2 = _children_cpu_s()
        # Host CPU (moss-host and its QEMU) per guest run, both ways: on a machine that others
        # load too, 16 processes get a larger share of it than one, so wall times flatter
        # "together"; CPU per run shows what spinning guests and hosts cost each other.
        return Result(True, together * 1e9, wall_s=together + in_a_row,
                      extra={"guests": guests, "loops": loops, "in_a_row_ns": int(in_a_row * 1e9),
                             "together_over_in_a_row": round(together / in_a_row, 3),
                             "cpu_s_per_guest_together": round((cpu1 - cpu0) / guests, 3),
                             "cpu_s_per_guest_in_a_row": round((cpu2 - cpu1) / guests, 3)})

    TRAP_RE = re.compile(r"trap_roundtrip\S*\s*[=:]\s*([0-9.]+)\s*(ns|us|µs)?", re.I)

    def _trap(self, argv: list[str]) -> Result:
        """``moss-host run --timing``: expects a line naming trap_roundtrip
        with a number (``BENCH name=trap_roundtrip ... ns_per_op=X`` or
        ``trap_roundtrip_ns=X`` / ``trap_roundtrip: X us``) on stdout/stderr."""
        if not self.has_timing_flag():
            return Result.not_run("moss-host run has no --timing flag")
        r = self._exec(self._run_argv(["/bench/null_syscall", *argv], timing=True),
                       self.timeout)
        if r is None:
            return Result.not_run(f"timed out after {self.timeout:.0f} s")
        rc, out, err, wall = r
        res = parse_bench(out + "\n" + err, "trap_roundtrip")
        if res is not None:
            res.wall_s = wall
            return res
        m = self.TRAP_RE.search(out + "\n" + err)
        if m:
            scale = 1000.0 if (m.group(2) or "ns").lower() in ("us", "µs") else 1.0
            return Result(True, float(m.group(1)) * scale, wall_s=wall)
        return Result.not_run(f"--timing printed no trap_roundtrip figure "
                              f"({_reason(err, rc)})")


def _children_cpu_s() -> float:
    """User + system CPU seconds of this process's waited-for descendants so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _echo_result(measure, errors: tuple) -> Result:
    """Run a key echo measurement: the median key as the op, the spread in extra."""
    t0 = time.monotonic()
    try:
        s = measure()
    except errors as e:
        return Result.not_run(f"failed: {e}"[:300])
    extra = {k: round(v) if k.endswith("_ns") else v for k, v in s.items()}
    return Result(True, s["median_ns"], wall_s=time.monotonic() - t0, extra=extra)


def all_peers(quick: bool, smp: bool = False, base: Path | None = None) -> list[Peer]:
    """Every system; with smp also moss-py and Linux with 2 vCPUs (parallel_cpu's speed-up);
    with base also moss-py from that checkout (moss_base)."""
    t = 60.0 if quick else 300.0
    peers: list[Peer] = [LinuxInQemu(kaslr=False, timeout=t), LinuxInQemu(kaslr=True, timeout=t),
                         QemuUser(timeout=t), MossPy(timeout=45.0 if quick else 300.0)]
    if smp:
        peers += [LinuxInQemu(kaslr=False, timeout=t, smp=2), MossPy(timeout=45.0 if quick else 300.0, cpus=2)]
    if base is not None:
        peers.append(MossPy(timeout=45.0 if quick else 300.0, base=base))
    return peers
