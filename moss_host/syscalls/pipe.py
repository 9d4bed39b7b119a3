"""pipe syscalls (being written)."""
