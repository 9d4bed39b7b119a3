"""signal syscalls (being written)."""
