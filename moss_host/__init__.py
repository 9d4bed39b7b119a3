"""moss-py: a Linux-compatible kernel written in Python, running AArch64 binaries in qemu-system-aarch64."""
