"""--trace (moss_host/syscalls/trace/): the tracer, strace style."""
from .tracer import Tracer

__all__ = ["Tracer"]
