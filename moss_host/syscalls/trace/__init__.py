"""--trace, strace-grade: the per-syscall table of argument kinds (rows.py), one module of
decoders per concept (flags, signal names, structs, strings, results), the filters and
classes (options.py, classes.py), strace -c's table (summary.py) and the Tracer that
dispatch and proc/ report to (tracer.py)."""
from .options import TraceOptions, TraceSpecError, options_from, parse_spec
from .tracer import Tracer

__all__ = ["TraceOptions", "TraceSpecError", "Tracer", "options_from", "parse_spec"]
