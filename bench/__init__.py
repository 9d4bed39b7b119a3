"""Side-by-side benchmarks: moss-py vs Linux in the same QEMU vs qemu-aarch64.

Entry point: ``python3 -m bench.run [--quick] [WORKLOAD...]`` (see README.md).
"""
