"""forward_transfer: a host-to-guest transfer through a port forward, moss-py beside Linux.

    python3 -m bench.forward_transfer [--mib N] [--reps R]

A BusyBox httpd in the guest serves an N MiB file from its /tmp; the host fetches it R
times over http://127.0.0.1:PORT/ and reports MiB/s (median, min, max). moss-py runs
`moss-host run --forward tcp:PORT:8080` (its relay copies between a host socket and the
guest's TCP socket; no emulated NIC). Linux 6.1 runs in the same QEMU with a virtio-net
device on QEMU's user network and `hostfwd=tcp:127.0.0.1:PORT-:8080` (the bytes cross
slirp and the emulated NIC), its driver loaded from Debian's modules (failover,
net_failover, virtio_mmio, virtio_net) of the oracle's kernel package. Issue 13 asks for
the figure against Linux; there is no fixed target for it.
"""
from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

from bench import build

REPO = build.REPO
NET_MODULES = {
    "failover": "net/core/failover.ko",
    "net_failover": "drivers/net/net_failover.ko",
    "virtio_mmio": "drivers/virtio/virtio_mmio.ko",
    "virtio_net": "drivers/net/virtio_net.ko",
}
GUEST_PORT = 8080


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_script(mib: int) -> str:
    return (f"dd if=/dev/zero of=/tmp/blob bs=1048576 count={mib} 2>/dev/null && "
            f"httpd -p {GUEST_PORT} -h /tmp && echo ready")


def fetch_rate(port: int, mib: int, deadline: float) -> float:
    """One fetch of the blob: MiB/s (retried while the server is not up yet)."""
    url = f"http://127.0.0.1:{port}/blob"
    while True:
        try:
            t0 = time.perf_counter()
            with urllib.request.urlopen(url, timeout=60) as r:
                data = r.read()
            seconds = time.perf_counter() - t0
            if len(data) != mib << 20:
                raise RuntimeError(f"got {len(data)} bytes")
            return mib / seconds
        except (OSError, RuntimeError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def moss_rates(mib: int, reps: int) -> list[float]:
    port = free_port()
    cmd = [sys.executable, "-m", "moss_host.cli", "run", "--image", str(REPO / "build" / "initramfs.cpio"),
           "--forward", f"tcp:{port}:{GUEST_PORT}", "--", "/bin/sh", "-c", serve_script(mib) + "; sleep 3600"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        return [fetch_rate(port, mib, time.monotonic() + 120) for _ in range(reps)]
    finally:
        proc.kill()
        proc.wait()


def linux_rates(mib: int, reps: int) -> list[float]:
    sys.path.insert(0, str(REPO))
    from tests.qemu.linux_fs_oracle import extract_modules
    from tests.qemu.linux_oracle import LinuxOracle

    port = free_port()

    class LinuxNet(LinuxOracle):
        def qemu_argv(self) -> list[str]:
            return [*super().qemu_argv(), "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:{GUEST_PORT}",
                    "-device", "virtio-net-device,netdev=n0"]

    vm = LinuxNet(extract_modules(NET_MODULES, "modules-virtio-net"), name="bench-forward")
    vm.start()
    try:
        setup = " && ".join([*(f"insmod /modules/{name}.ko" for name in NET_MODULES),
                             "ip link set lo up", "ip link set eth0 up", "ip addr add 10.0.2.15/24 dev eth0",
                             serve_script(mib)])
        out, status = vm.run(setup, timeout=120)
        if status != 0 or "ready" not in out:
            raise RuntimeError(f"Linux guest setup failed: {out}")
        return [fetch_rate(port, mib, time.monotonic() + 120) for _ in range(reps)]
    finally:
        vm.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mib", type=int, default=16)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    results = {"linux": linux_rates(args.mib, args.reps), "moss": moss_rates(args.mib, args.reps)}
    for system, rates in results.items():
        print(f"{system:6} host<-guest through a forward: {statistics.median(rates):7.1f} MiB/s "
              f"[{min(rates):.1f}..{max(rates):.1f}]  ({args.reps} fetches of {args.mib} MiB)")
    print(f"moss/linux throughput: {statistics.median(results['moss']) / statistics.median(results['linux']):.2f}x")


if __name__ == "__main__":
    main()
