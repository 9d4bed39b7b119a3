"""Linux running the programs of the Debian image: the oracle for tests/qemu/test_debian.py.

The image (build/debian.ext4, `just image-debian`) is far too big for an initramfs, so the
VM gets a copy of it as a virtio disk: ``LinuxWithModules`` (ext4 and friends) plus Debian's
``virtio_mmio`` and ``virtio_blk`` modules, loaded after boot, make it ``/dev/vda``. It is
mounted at /debian with proc, devtmpfs (with udev's /dev/fd links and a /dev/shm directory),
devpts and a tmpfs on /tmp inside (what moss-py mounts at boot and the image's fstab adds),
and every command runs chrooted there, in the environment `moss-host run` gives its program
(``MOSS_ENV``)::

    vm = LinuxDebian(copy_of_the_image).start()
    out, err, status = vm.run_argv(["python3", "-c", "print(1)"])

pytest: the session fixture ``linux_debian_oracle`` takes the image path from the fixture
``debian_image`` (test_debian.py) and works on a copy of its own.
"""
from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from .linux_fs_oracle import MOSS_ENV, LinuxWithModules, extract_modules
from .linux_oracle import QEMU, OracleError

# Guest name -> path in the kernel package, in load order (virtio_blk needs a transport).
VIRTIO_MODULES = {
    "virtio_mmio": "drivers/virtio/virtio_mmio.ko",
    "virtio_blk": "drivers/block/virtio_blk.ko",
}
ROOT = "/debian"


def virtio_module_files() -> dict[str, Path]:
    """/modules/NAME.ko -> host path of Debian's virtio modules, extracted once from the
    kernel package the oracle's Image came from (beside linux_fs_oracle's modules)."""
    return extract_modules(VIRTIO_MODULES, "modules-virtio")


class LinuxDebian(LinuxWithModules):
    """The fs oracle VM with `disk` (an ext4 image it may write) mounted and chrooted into."""

    def __init__(self, disk: Path, *, name: str = "debian-oracle") -> None:
        super().__init__(virtio_module_files(), name=name)
        self.disk = disk

    def qemu_argv(self) -> list[str]:
        return [*super().qemu_argv(),
                "-drive", f"file={self.disk},if=none,format=raw,id=debian",
                "-device", "virtio-blk-device,drive=debian"]

    def start(self) -> "LinuxDebian":
        if self.running:
            return self
        super().start()
        setup = " && ".join([
            *(f"insmod /modules/{name}.ko" for name in VIRTIO_MODULES),
            f"mkdir -p {ROOT}", f"mount -t ext4 /dev/vda {ROOT}",
            f"mount -t proc proc {ROOT}/proc", f"mount -t devtmpfs devtmpfs {ROOT}/dev",
            f"mkdir -p {ROOT}/dev/pts", f"mount -t devpts devpts {ROOT}/dev/pts",
            f"mkdir -p -m 1777 {ROOT}/dev/shm",         # a directory of devtmpfs, as moss-py's devfs has
            f"mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs {ROOT}/tmp",
            # udev's links (devtmpfs has none; moss-py's devfs has them): bash's <(...) needs /dev/fd
            f"ln -sfn /proc/self/fd {ROOT}/dev/fd", f"ln -sfn /proc/self/fd/0 {ROOT}/dev/stdin",
            f"ln -sfn /proc/self/fd/1 {ROOT}/dev/stdout", f"ln -sfn /proc/self/fd/2 {ROOT}/dev/stderr",
        ])
        out, status = self.run(setup)
        if status != 0:
            self.stop()
            raise OracleError(f"{self.name}: mounting the Debian disk failed: {out}")
        return self

    def run_argv(self, argv: list[str], timeout: float = 300.0) -> tuple[str, str, int]:
        """(stdout, stderr, status) of argv run in the chroot, PATH-searched as `moss-host run`
        does, with the environment moss-py gives its first program."""
        # /usr/bin/env by its path: BusyBox's chroot would run a bare "env" as its own applet,
        # and that applet the program named, if BusyBox has one of that name (ls, ps, ...).
        return self.run3(f"chroot {ROOT} /usr/bin/{MOSS_ENV} {shlex.join(argv)}", timeout=timeout)


@pytest.fixture(scope="session")
def linux_debian_oracle(debian_image: Path, tmp_path_factory):
    """Linux chrooted into its own copy of `debian_image` (a fixture of the test module: the
    image path, built once), shared by the session."""
    if shutil.which(QEMU) is None:
        pytest.skip(f"{QEMU} not installed")
    copy = tmp_path_factory.mktemp("debian-linux") / "debian.ext4"
    subprocess.run(["cp", "--sparse=always", str(debian_image), str(copy)], check=True)
    vm = LinuxDebian(copy)
    try:
        yield vm.start()
    finally:
        vm.stop()
